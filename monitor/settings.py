"""Scrapy settings for monitor's spiders (``scrapy.cfg`` names this module).

Our own settings carry the ``MONITOR_`` prefix and are read with ``from_crawler``.
"""

from __future__ import annotations

BOT_NAME = "monitor"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

USER_AGENT = "monitor/0.1 (+https://github.com/monitor-news/monitor)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024  # applies after decompression: also stops gzip bombs
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
RETRY_TIMES = 2
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
CLOSESPIDER_TIMEOUT = 600
LOG_LEVEL = "WARNING"

ITEM_PIPELINES = {"monitor.pipelines.StoragePipeline": 300}
EXTENSIONS = {"monitor.extensions.CrawlLock": 100}  # one running crawl per source

REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"

# Where the pipeline finds monitor.yaml; set by ``monitor crawl`` for each child process.
MONITOR_CONFIG = ""
