"""What the parts of one crawl process share: the config, loaded once, and one database.

The spider, the storage pipeline and the lock extension are built by Scrapy, each through
its own ``from_crawler``. Each used to load ``MONITOR_CONFIG`` and open the database
itself: three parses of the YAML and the rule paths, three engines, two schema checks.
``CrawlContext.of(crawler)`` builds them on first use and keeps them on the crawler, so
every component of the crawl gets the same ``Config`` and ``Database``; the database is
closed once, when the spider closes (after the pipelines have closed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy import signals

from monitor.config.model import Config, load_config
from monitor.errors import MonitorError
from monitor.store.database import Database

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

_ATTRIBUTE = "monitor_context"  # where the context is kept on the crawler


class CrawlContext:
    """The ``Config`` named by the ``MONITOR_CONFIG`` setting and the ``Database`` it names."""

    def __init__(self, config: Config, database: Database) -> None:
        self.config = config
        self.database = database

    @classmethod
    def of(cls, crawler: Crawler) -> CrawlContext:
        """The crawler's context, made on first use.

        The schema is checked (and a new database migrated) here unless ``monitor crawl``
        did it before starting this process (it says so in ``MONITOR_SCHEMA_CHECKED``).
        """
        context: CrawlContext | None = getattr(crawler, _ATTRIBUTE, None)
        if context is not None:
            return context
        path = crawler.settings.get("MONITOR_CONFIG")
        if not path:
            raise MonitorError("MONITOR_CONFIG is not set; run crawls with `monitor crawl`")
        config = load_config(path)
        if crawler.settings.getbool("MONITOR_SCHEMA_CHECKED"):
            database = Database(config.database_url)
        else:
            database = Database.open(config.database_url)
        context = cls(config, database)
        setattr(crawler, _ATTRIBUTE, context)
        # The signal holds a weak reference: the crawler's attribute keeps the context alive.
        crawler.signals.connect(context.close, signal=signals.spider_closed)
        return context

    def close(self) -> None:
        """Release the database connections (on ``spider_closed``)."""
        self.database.close()
