"""Scrapy extensions of monitor: ``CrawlLock`` keeps one crawl per source running at a time.

Scrapy's signals do the plumbing; ``monitor.store.locks`` does the locking. The lock is taken by
the crawl process itself, so it holds whoever started the crawl (a ``monitor run`` child,
scrapyd, a second scheduler after a failover) and is released when the crawl process ends,
however it ends.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import CloseSpider

from monitor.crawl.context import CrawlContext
from monitor.store.locks import Lock, crawl_lock

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

log = logging.getLogger(__name__)
ALREADY_RUNNING = "already_running"


class CrawlLock:
    """Close a crawl at once when another crawl of the same source holds its lock."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.lock: Lock | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlLock:
        """Connect to the spider's open and close signals."""
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        """Take the source's lock, or stop this crawl before it fetches anything."""
        source = getattr(spider, "source_name", None)
        path = self.crawler.settings.get("MONITOR_CONFIG")
        if not source or not path:
            return
        self.lock = crawl_lock(CrawlContext.of(self.crawler).config.database_url, source)
        if self.lock is None:
            log.warning("another crawl of %s is running; this one stops", source)
            # Item pipelines close before Scrapy's CoreStats records the reason: say it now.
            if self.crawler.stats is not None:
                self.crawler.stats.set_value("finish_reason", ALREADY_RUNNING)
            raise CloseSpider(ALREADY_RUNNING)  # Scrapy honours it from spider_opened

    def spider_closed(self, spider: Spider) -> None:
        """Release the lock (the operating system would, too, when the process ends)."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None
