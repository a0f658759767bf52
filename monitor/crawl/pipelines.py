"""Scrapy glue: each fetched page goes parse -> store -> match -> outbox; failures are recorded.

The pipeline runs inside the crawl's child process. Pages go to a ``monitor.crawl.ingest``
``Ingester`` in this process; when ``crawl.workers`` (setting ``MONITOR_WORKERS``) is above
0, this process only fetches and an ``IngestPool`` of worker processes parses, matches and
stores the pages, so fetching and the parsing that costs most use different cores. Each
``FailureItem`` is stored at once with its reason, so a crawl killed at its time limit keeps
what it learnt; so is each page that fails to parse or store (``monitor.crawl.ingest``), wherever
it was ingested. At the end the pipeline closes the crawl run that the parent opened
(``MONITOR_RUN_ID``):

- ``failed`` when the source's own URL (feed, sitemap, listing) failed, or when every
  article page failed;
- ``partial`` when some article pages failed: the healthy ones are stored all the same;
- ``ok`` otherwise, including a feed answered with 304 Not Modified.

In the long-lived engine (``monitor.crawl.engine``) the crawl's context carries the engine's
ingest worker (``CrawlContext.ingest``): pages go there, so parsing, matching and storing
run off the reactor thread and the rules are compiled once for every crawl of the process;
a poll that fetches no page loads nothing.

The engine opens the run of each of its crawls itself, and records how the crawl ended
(``RunEnd``, which the pipeline leaves on the crawl's ``PollRecord``) together with the
source's health: one transaction fewer at each end of a poll.

Conditional-GET validators are kept only after a crawl without failures: a page that
failed must not hide behind a 304 next time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor.article import Article
from monitor.config.model import Config, Source
from monitor.crawl.context import CrawlContext, PageSink
from monitor.crawl.extensions import ALREADY_RUNNING
from monitor.crawl.ingest import Counts, Ingester, IngestPool, Page, load_ruleset
from monitor.crawl.items import FailureItem, PageItem, ValidatorItem
from monitor.crawl.parentwatch import PARENT_GONE
from monitor.errors import MonitorError
from monitor.store.database import Database
from monitor.store.runs import (
    Failure,
    RunEnd,
    Validators,
    begin_run,
    close_run,
    record_failures,
    start_run,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

log = logging.getLogger(__name__)


class StoragePipeline:
    """Ingests each ``PageItem``, records each ``FailureItem``, closes the crawl run."""

    def __init__(self, crawler: Crawler, config: Config, database: Database) -> None:
        self.crawler = crawler
        self.config = config
        self.database = database  # the crawl's, shared with the spider (closed at spider_closed)
        self.record = CrawlContext.poll(crawler)  # the engine's crawl: it opens and records the run
        self.run_id: int | None = crawler.settings.getint("MONITOR_RUN_ID") or None
        if self.record is not None:
            self.run_id = self.record.run_id
        workers = crawler.settings.getint("MONITOR_WORKERS", -1)
        self.workers = config.crawl.workers if workers < 0 else workers
        self.ingester: Ingester | None = None
        self.pool: IngestPool | None = None
        self.counts = Counts()
        self.failures: Counter[str] = Counter()
        self.entry_failure: str | None = None
        self.validators: dict[str, Validators] = {}
        self.closing: asyncio.Future[None] | None = None
        self.opened = time.monotonic()
        self.sink: PageSink | None = None  # the engine's ingest worker, when the engine runs this crawl

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        """Use the crawl's config and database (``CrawlContext``)."""
        context = CrawlContext.of(crawler)
        pipeline = cls(crawler, context.config, context.database)
        pipeline.sink = context.ingest
        return pipeline

    @property
    def source(self) -> Source:
        """The configured source the spider crawls (monitor never imports ``spiders``)."""
        source = getattr(self.crawler.spider, "source", None)
        if not isinstance(source, Source):
            raise MonitorError("the spider has no monitor source; use `scrapy crawl news -a source=NAME`")
        return source

    def open_spider(self) -> None:
        """Open the run record (unless the parent did), start the ingest workers or Ingester."""
        self.opened = time.monotonic()
        if self.record is None:  # (the engine opened the run as it started this crawl)
            with self.database.transaction() as session:
                if self.run_id is None:
                    self.run_id = start_run(session, self.source.name, datetime.now(UTC))
                else:  # the parent opened it before starting this process: the crawl starts now
                    begin_run(session, self.run_id, datetime.now(UTC))
        if self.sink is not None:  # the engine's worker ingests: nothing to load here
            return
        if self.workers > 0:  # this process fetches, the workers parse, match and store
            self.pool = IngestPool(
                str(self.config.path), self.source.name, self.workers, run_id=self.run_id
            ).start()
        else:
            rules = load_ruleset(self.config, self.database)
            self.ingester = Ingester(self.config, self.source, rules, self.database, self.run_id)

    async def process_item(self, item: Any) -> Any:
        """Pages are ingested (here or by a worker), failures and validators recorded."""
        if isinstance(item, PageItem):
            page = Page(item.url, item.body, item.encoding, tuple(item.links))
            if self.sink is not None:
                assert self.run_id is not None
                done = self.sink.submit(self.source, self.run_id, [page])
                self.counts.add(await asyncio.wrap_future(done))
                return item
            if self.pool is None:
                assert self.ingester is not None
                self.counts.add(self.ingester.ingest([page]))
                return item
            jobs: list[Page | Article] = [page]
            if self.pool.behind():  # parse here too; the workers only match and store these
                parser = self._parser()
                articles, failures = parser.parse([page])
                parser.record(failures)
                self.counts.add(Counts(pages=1, failed=Counter(failure.reason for failure in failures)))
                jobs = list(articles)
                if self.crawler.stats is not None:
                    self.crawler.stats.inc_value("monitor/parsed_in_crawl_process")
            for job in jobs:
                await self._queue(job)
        elif isinstance(item, FailureItem):
            self._failed(item)
        elif isinstance(item, ValidatorItem):
            self.validators[item.url] = Validators(item.etag, item.last_modified)
        return item

    def _parser(self) -> Ingester:
        if self.ingester is None:  # parses and records failures; the workers store
            self.ingester = Ingester(self.config, self.source, None, self.database, self.run_id)
        return self.ingester

    async def _queue(self, job: Page | Article) -> None:
        """Hand ``job`` to the workers; while they are behind, wait (in a thread, not polling)."""
        assert self.pool is not None
        if self.pool.put(job):
            return
        while not await asyncio.to_thread(self.pool.put, job, 1.0):
            if not self.pool.alive():  # stop the crawl (not awaited: it waits for this item)
                if self.closing is None:
                    engine = self.crawler.engine
                    self.closing = asyncio.ensure_future(
                        engine.close_spider_async(reason="ingest_worker_died")
                    )
                return

    def _failed(self, item: FailureItem) -> None:
        log.info("failed %s: %s (%s)", item.url, item.reason, item.detail)
        if item.entry:
            self.entry_failure = f"{item.reason}: {item.detail} ({item.url})"
        else:
            self.failures[item.reason] += 1
        assert self.run_id is not None
        failure = Failure(item.url, item.reason, item.detail, item.entry)
        with self.database.transaction() as session:
            record_failures(session, self.run_id, self.source.name, [failure], datetime.now(UTC))

    async def close_spider(self) -> None:
        """Wait for the workers, then record the figures and the outcome of this run."""
        pool_error = None
        if self.pool is not None:
            try:
                self.counts.add(await asyncio.to_thread(self.pool.close))
            except MonitorError as exc:
                pool_error = str(exc)
        stats = self.crawler.stats
        pages = int(stats.get_value("response_received_count", 0)) if stats else 0
        reason = stats.get_value("finish_reason") if stats else None
        limit = self.crawler.settings.getfloat("CLOSESPIDER_TIMEOUT")
        if reason is None and limit and time.monotonic() - self.opened >= limit:
            reason = "closespider_timeout"  # pipelines close before Scrapy records the reason
        # Pages that failed to download never reached the ingester; those that failed to parse
        # or store are among its pages.
        reasons = self.failures + self.counts.failed
        failed = sum(reasons.values())
        healthy = self.counts.pages - sum(self.counts.failed.values())
        status, error = "ok", None
        if self.entry_failure is not None:
            status, error = "failed", self.entry_failure
        elif pool_error is not None:
            status, error = "failed", pool_error
        elif failed and not healthy:
            status, error = "failed", f"all {failed} article page(s) failed: {_summary(reasons)}"
        elif reason == ALREADY_RUNNING:
            status, error = "skipped", "another crawl of this source was running"
        elif reason in (PARENT_GONE, "shutdown"):  # stopped from outside: not the source's failure
            status = "interrupted"
            error = "the process that started this crawl died" if reason == PARENT_GONE else "stopped"
        elif reason not in (None, "finished"):
            status = "partial" if self.counts.stored else "failed"
            error = f"crawl ended early ({reason}): not every page was fetched"
            if reason == "closespider_timeout":
                error = "crawl stopped at its time limit (crawl.timeout): not every page was fetched"
        elif failed:
            status = "partial"
            error = f"{failed} of {failed + healthy} article page(s) failed: {_summary(reasons)}"
        assert self.run_id is not None
        end = RunEnd(
            status,
            error,
            pages=pages,
            stored=self.counts.stored,
            failed=failed + (self.entry_failure is not None),
            retry_after=int(stats.get_value("monitor/retry_after", 0) or 0) or None if stats else None,
            validators=self.validators,
        )
        if self.record is not None:  # the engine records it with the source's health
            self.record.end = end
            return
        with self.database.transaction() as session:
            close_run(session, self.run_id, self.source.name, self.source.url, end, datetime.now(UTC))


def _summary(reasons: Counter[str]) -> str:
    return ", ".join(f"{count} {reason}" for reason, count in reasons.most_common())
