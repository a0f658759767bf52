"""A crawl child ends with its parent: ``ParentWatch`` closes the crawl when the parent is gone.

``monitor crawl`` and ``monitor run`` start each crawl in its own session (so that a timeout
can kill the whole process group), which also means that killing only the parent leaves the
crawl running with nobody to read its outcome: its source's health is never updated and its
alerts wait for some later dispatch. The child therefore watches its parent process id,
which the operating system changes when the parent dies (the orphan is re-parented), and
closes the crawl cleanly then: what it stored stays stored, and its run is recorded as
``interrupted``. Polling ``getppid`` once a second is the portable form of Linux's
``PR_SET_PDEATHSIG``, which fires when the *thread* that started the child ends, and
``monitor run`` starts crawls from pool threads.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

log = logging.getLogger(__name__)
PARENT_GONE = "parent_gone"  # the crawl's finish reason when its parent died
INTERVAL = 1.0  # seconds between looks at the parent


class ParentWatch:
    """Close the crawl when the process that started it (``MONITOR_PARENT_PID``) has died."""

    def __init__(self, crawler: Crawler, parent: int) -> None:
        self.crawler = crawler
        self.parent = parent
        self.loop: task.LoopingCall | None = None
        self.closing: asyncio.Future[None] | None = None  # kept: a task nobody holds may vanish

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ParentWatch:
        """Watch only when a parent asked for it (a crawl run by hand has none to outlive)."""
        parent = crawler.settings.getint("MONITOR_PARENT_PID")
        if parent <= 0:
            raise NotConfigured("no MONITOR_PARENT_PID")
        extension = cls(crawler, parent)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        """Start looking; a parent that died before the crawl opened is seen at the first look."""
        self.loop = task.LoopingCall(self.check)
        self.loop.start(INTERVAL, now=True)

    def check(self) -> None:
        """Close the crawl once the parent is gone (the child has been re-parented)."""
        if os.getppid() == self.parent:
            return
        log.warning("the process that started this crawl (pid %d) is gone: stopping", self.parent)
        self.stop()
        if self.crawler.stats is not None:  # pipelines close before Scrapy records the reason
            self.crawler.stats.set_value("finish_reason", PARENT_GONE)
        engine = self.crawler.engine
        if engine is not None:
            self.closing = asyncio.ensure_future(engine.close_spider_async(reason=PARENT_GONE))

    def spider_closed(self, spider: Spider) -> None:
        """Stop looking."""
        self.stop()

    def stop(self) -> None:
        """Stop the looping call if it runs."""
        if self.loop is not None and self.loop.running:
            self.loop.stop()
