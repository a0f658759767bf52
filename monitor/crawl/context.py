"""What the parts of one crawl process share: the config, loaded once, and one database.

The spider, the storage pipeline and the lock extension are built by Scrapy, each through
its own ``from_crawler``. Each used to load ``MONITOR_CONFIG`` and open the database
itself: three parses of the YAML and the rule paths, three engines, two schema checks.
``CrawlContext.of(crawler)`` builds them on first use and keeps them on the crawler, so
every component of the crawl gets the same ``Config`` and ``Database``; the database is
closed once, when the spider closes (after the pipelines have closed).

In the long-lived engine (``monitor.crawl.engine``) every crawl of the process shares one
context instead, handed to each crawler with ``share``: the config is loaded once, the
database stays open between crawls, robots.txt is cached per host across crawls (``robots``)
and fetched pages go to the engine's ingest worker (``ingest``), off the reactor thread.
Each crawl of the engine also gets its own ``PollRecord``: the engine opens the poll's run
and reads what the spider needs (the feed's validators, the last complete crawl) in one
transaction, and the pipeline leaves how the crawl ended (``RunEnd``) for the engine to
record with the source's health in one more, instead of a transaction of its own each.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from scrapy import signals

from monitor.config.model import Config, load_config
from monitor.errors import MonitorError
from monitor.store.database import Database
from monitor.store.runs import RunEnd, Validators

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from monitor.config.model import Source
    from monitor.crawl.ingest import Counts, Page
    from monitor.crawl.politeness import RobotsCache

_ATTRIBUTE = "monitor_context"  # where the context is kept on the crawler
_POLL = "monitor_poll"  # where the engine keeps the crawl's ``PollRecord``


@dataclass(slots=True)
class PollRecord:
    """One crawl of the engine and its run record: opened by the engine, ended by the pipeline.

    The engine opens the run (``run_id``, begun now) with what the spider needs to know;
    the pipeline sets ``end`` when the crawl closes, and the engine records it with the
    source's health (``monitor.crawl.outcome.settle_run``). A crawl that never closes
    leaves ``end`` unset: its run is then closed as lost.
    """

    run_id: int
    validators: Validators | None  # of the source's URL, for the conditional GET
    complete_at: datetime | None  # when the last crawl without any failure started
    end: RunEnd | None = None


class PageSink(Protocol):
    """Where a crawl of the engine sends its pages: parsed, matched and stored off the reactor."""

    def submit(self, source: Source, run_id: int, pages: list[Page]) -> Future[Counts]:
        """Ingest ``pages`` of ``source`` for crawl run ``run_id``; the future holds the counts."""


class CrawlContext:
    """The ``Config`` named by the ``MONITOR_CONFIG`` setting and the ``Database`` it names."""

    def __init__(
        self,
        config: Config,
        database: Database,
        *,
        robots: RobotsCache | None = None,
        ingest: PageSink | None = None,
    ) -> None:
        self.config = config
        self.database = database
        self.robots = robots
        self.ingest = ingest

    def share(self, crawler: Crawler, record: PollRecord | None = None) -> None:
        """Make this (the engine's) context the crawler's, with its poll's ``record``.

        The engine closes the database itself.
        """
        setattr(crawler, _ATTRIBUTE, self)
        setattr(crawler, _POLL, record)

    @staticmethod
    def poll(crawler: Crawler) -> PollRecord | None:
        """The crawler's ``PollRecord`` when the engine runs it (None in a crawl process of its own)."""
        record: PollRecord | None = getattr(crawler, _POLL, None)
        return record

    @classmethod
    def existing(cls, crawler: Crawler) -> CrawlContext | None:
        """The crawler's context if one was made or shared already (None for a bare crawler)."""
        context: CrawlContext | None = getattr(crawler, _ATTRIBUTE, None)
        return context

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
