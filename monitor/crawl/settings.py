"""Scrapy settings for monitor's spiders (``scrapy.cfg`` names this module).

Politeness and safety, with the component doing each:

- robots.txt obeyed, and a robots.txt that fails to load (5xx, 429, network error) means
  "not now" rather than Scrapy's "allow everything" (``monitor.crawl.politeness``, RFC 9309);
- AutoThrottle adapts the delay to the site's latency; at most ``CONCURRENT_REQUESTS_PER_DOMAIN``
  requests in flight per host (``crawl.per_domain`` in monitor.yaml);
- ``Retry-After`` on 429/503 honoured and a backoff between retries (``monitor.crawl.politeness``);
- ``DOWNLOAD_MAXSIZE`` caps a page after decompression, which also stops gzip bombs;
- only http/https, and no private, loopback or link-local address on any redirect hop
  (``monitor.crawl.safety``, in front of robots.txt so a refused host is not even asked for it).

``monitor.crawl.runner`` passes the per-crawl values (``-s NAME=value``): the User-Agent with the
operator's contact, timeouts and sizes from ``crawl:``, and the source's ``allow_private``.
Our own settings carry the ``MONITOR_`` prefix and are read with ``from_crawler``.
"""

from __future__ import annotations

BOT_NAME = "monitor"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

USER_AGENT = "monitor/0.1 (+https://github.com/monitor-news/monitor)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
# A page yields one item; Scrapy starts CONCURRENT_ITEMS worker tasks for every response's
# output whatever its size (2.19), which at the default 100 costs ~1 ms of CPU per page.
CONCURRENT_ITEMS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_DELAY = 0.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
DOWNLOAD_FAIL_ON_DATALOSS = True  # a truncated body is a failure, not a short article
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 5  # RFC 9309 follows five for robots.txt; a longer chain is a loop
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
CLOSESPIDER_TIMEOUT = 900
LOG_LEVEL = "WARNING"

DOWNLOADER_MIDDLEWARES = {
    "monitor.crawl.safety.AddressGuardMiddleware": 50,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "monitor.crawl.politeness.RobotsPolicyMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "monitor.crawl.politeness.RetryAfterMiddleware": 550,
}
TWISTED_DNS_RESOLVER = "monitor.crawl.safety.GuardedResolver"
ITEM_PIPELINES = {"monitor.crawl.pipelines.StoragePipeline": 300}
EXTENSIONS = {
    "monitor.crawl.extensions.CrawlLock": 100,  # one running crawl per source
    "monitor.crawl.parentwatch.ParentWatch": 110,  # the crawl ends with the process that started it
}

REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"

# Where the pipeline finds monitor.yaml; set by ``monitor crawl`` for each child process.
MONITOR_CONFIG = ""
MONITOR_RUN_ID = 0  # the crawl_runs row the parent opened; 0: the pipeline opens one
MONITOR_PARENT_PID = 0  # the process that started the crawl; 0: none to watch
MONITOR_ALLOW_PRIVATE = False  # the source's allow_private
MONITOR_WORKERS = -1  # parse/store/match worker processes; -1: crawl.workers of monitor.yaml
MONITOR_RETRY_AFTER_MAX = 3600  # crawl.retry_after_max, seconds: the longest Retry-After honoured
MONITOR_RETRY_BACKOFF = 1.0  # first wait between retries of one request, seconds
