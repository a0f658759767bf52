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

The per-crawl values come from monitor.yaml through ``crawl_settings`` (the User-Agent with
the operator's contact, timeouts and sizes from ``crawl:``, the source's ``allow_private``):
``monitor.crawl.runner`` passes them to its child as ``-s NAME=value`` and
``monitor.crawl.scrapyd`` as ``schedule.json`` ``setting`` fields. The defaults below are the
same declaration's (``monitor.config.declare``), for a crawl started without them.
Our own settings carry the ``MONITOR_`` prefix and are read with ``from_crawler``.

Scrapy takes every upper-case name of this module as a setting, so helpers are lower-case.
"""

from __future__ import annotations

import typing

from monitor.config import model
from monitor.config.crawl import CrawlSettings

if typing.TYPE_CHECKING:
    from monitor.config.model import Config, Source

_defaults = CrawlSettings()

BOT_NAME = "monitor"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

USER_AGENT = model.DEFAULT_USER_AGENT
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
# A page yields one item; Scrapy starts CONCURRENT_ITEMS worker tasks for every response's
# output whatever its size (2.19), which at the default 100 costs ~1 ms of CPU per page.
CONCURRENT_ITEMS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = _defaults.per_domain
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_DELAY = 0.0
DOWNLOAD_TIMEOUT = _defaults.page_timeout
DOWNLOAD_MAXSIZE = _defaults.max_page_size
DOWNLOAD_WARNSIZE = DOWNLOAD_MAXSIZE // 2
DOWNLOAD_FAIL_ON_DATALOSS = True  # a truncated body is a failure, not a short article
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 5  # RFC 9309 follows five for robots.txt; a longer chain is a loop
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's RemoteControl extension is on by default: every crawl would start an HTTP
# server on localhost that runs Python code sent to it (behind a token written to a file in
# the user's state folder). Nothing of monitor uses it, and in monitor run's engine it cost a
# server start, a file write and a teardown per poll.
REMOTE_CONTROL_ENABLED = False
CLOSESPIDER_TIMEOUT = _defaults.timeout
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
MONITOR_SCHEMA_CHECKED = False  # True: whoever started the crawl opened (and migrated) the database
MONITOR_WORKERS = -1  # parse/store/match worker processes; -1: crawl.workers of monitor.yaml
MONITOR_RETRY_AFTER_MAX = _defaults.retry_after_max  # seconds: the longest Retry-After honoured
MONITOR_RETRY_BACKOFF = 1.0  # first wait between retries of one request, seconds


def crawl_settings(config: Config, source: Source) -> dict[str, object]:
    """The Scrapy and ``MONITOR_*`` settings of one crawl of ``source``, from ``config``.

    What only the starter knows (the crawl-run id, the log level, its own pid) it adds.
    ``MONITOR_SCHEMA_CHECKED``: whoever starts a crawl opened the database first, migrating
    a new one (``crawl_source``; the scheduler, before it hands crawls to scrapyd), so the
    crawl need not.
    """
    crawl = config.crawl
    return {
        "MONITOR_CONFIG": str(config.path),
        "USER_AGENT": config.user_agent,
        "MONITOR_ALLOW_PRIVATE": int(source.allow_private),
        "DOWNLOAD_TIMEOUT": crawl.page_timeout,
        "DOWNLOAD_MAXSIZE": crawl.max_page_size,
        "DOWNLOAD_WARNSIZE": crawl.max_page_size // 2,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.per_domain,
        "CLOSESPIDER_TIMEOUT": crawl.timeout,
        "MONITOR_RETRY_AFTER_MAX": crawl.retry_after_max,
        "MONITOR_WORKERS": crawl.workers,
        "MONITOR_SCHEMA_CHECKED": 1,
    }
