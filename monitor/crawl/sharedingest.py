"""The crawl engine's ingest: every crawl's pages parsed, matched and stored off the reactor thread.

``SharedIngest`` is the ``PageSink`` of ``monitor.crawl.engine``: one for all the crawls of a
process, so the rules are compiled once (``load_ruleset``, through the rule cache) and read
again only when the rule files change (checked at most every ``RULES_CHECK`` seconds).

- With ``crawl.workers: 0`` (the default) it is one thread of this process. A poll that
  finds nothing new sends it nothing, and a few new articles a minute are cheap to parse
  beside the reactor: no second copy of the rules, no process to feed.
- With ``crawl.workers: N`` it is a pool of N worker processes (the standard library's
  ``ProcessPoolExecutor``, *spawned*, since the parent runs Twisted and threads), each with
  its own database connection and compiled rules: the parsing that costs most runs on other
  cores than the fetching, which is what a big ``monitor crawl`` needs. While every worker is
  busy and a full batch waits, this process ingests pages too, in a thread, as a
  ``scrapy crawl`` child does (``monitor.crawl.ingest``): every core parses, and the split
  finds its own balance.

A worker that dies (killed, out of memory, a crash in a C parser) breaks the pool: the pages
it had are recorded as failures of their crawl runs (reason ``parse-error``), a new pool is
started, and the other crawls go on. Workers ignore Ctrl-C (the engine stops the crawls and
lets the workers finish what was handed to them) and exit on their own when their parent is
gone, so none outlives a killed ``monitor``.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import Counter, OrderedDict
from concurrent.futures import Executor, Future, InvalidStateError, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime

from monitor.article import Article
from monitor.config.model import Config, Source
from monitor.crawl.ingest import BATCH, Counts, Ingester, Page
from monitor.store.database import Database
from monitor.store.runs import Failure, record_failures
from monitor.watch.state import CurrentRules

log = logging.getLogger(__name__)
RULES_CHECK = 5.0  # seconds between looks at the rule files for changes
PARENT_CHECK = 2.0  # seconds between a worker's checks that its parent is alive
WORKER_DIED = "the ingest worker process died while parsing this page (killed, or out of memory?)"


@dataclass(eq=False, slots=True)
class _Batch:
    """Pages of one crawl run waiting for (or in) a worker, with the futures of their callers."""

    source: Source
    run_id: int
    jobs: list[tuple[list[Page], Future[Counts]]] = field(default_factory=list)
    parsed: list[Article] = field(default_factory=list)  # parsed in this process: the workers store them
    counted: Counts = field(default_factory=Counts)  # what parsing them here found

    @property
    def unparsed(self) -> list[Page]:
        return [] if self.parsed or self.counted.pages else self.pages

    @property
    def pages(self) -> list[Page]:
        return [page for pages, _ in self.jobs for page in pages]

    def settle(self, counts: Counts) -> None:
        """The batch's figures to its first caller, nothing to the others: their sum is right."""
        for index, (_, future) in enumerate(self.jobs):
            with contextlib.suppress(InvalidStateError):  # the caller cancelled it
                future.set_result(counts if index == 0 else Counts())

    def fail(self, error: BaseException) -> None:
        for _, future in self.jobs:
            with contextlib.suppress(InvalidStateError):
                future.set_exception(error)


class SharedIngest:
    """Parses, matches and stores the pages of every crawl of the engine: a thread or worker processes.

    Pages wait in one open batch per crawl run until a worker (or the thread) is free, and go
    as one job of up to ``BATCH`` pages: one transaction, one hand-over to a process, however
    the crawl's pages trickle in. A poll's one new article goes at once when a worker is free.
    """

    def __init__(self, config: Config, database: Database, workers: int | None = None) -> None:
        self.config = config
        self.database = database
        self.workers = max(0, config.crawl.workers if workers is None else workers)
        self.rules = CurrentRules(database, config.rule_paths, RULES_CHECK)
        self.lock = threading.RLock()  # a pool's shutdown calls its jobs' callbacks, which take it
        self.idle = threading.Condition(self.lock)
        self.pool: Executor | None = self._new_pool() if self.workers else None
        self.here: ThreadPoolExecutor | None = None  # this process's thread (made on first use)
        self.open: OrderedDict[int, _Batch] = OrderedDict()  # by crawl run, oldest first
        self.busy = 0  # batches in the worker processes
        self.busy_here = 0  # batches in this process's thread (0 or 1)
        self.queued = 0  # pages in the open batches

    def _new_pool(self) -> Executor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.config,),
        )

    def submit(self, source: Source, run_id: int, pages: list[Page]) -> Future[Counts]:
        """Ingest ``pages`` of ``source`` for run ``run_id``; a dead worker's pages come back as failures."""
        future: Future[Counts] = Future()
        with self.lock:
            batch = self.open.get(run_id)
            if batch is None:
                batch = self.open[run_id] = _Batch(source, run_id)
            batch.jobs.append((pages, future))
            self.queued += len(pages)
            self._pump()
        return future

    def waiting(self) -> int:
        """Pages waiting for a worker or the thread."""
        with self.lock:
            return self.queued

    def _pump(self) -> None:
        """Start the open batches that have a free place. Holds ``self.lock``."""
        while self.open:
            if self.busy < self.workers:
                self.busy += 1
                self._to_workers(self._take(), tries=2)
            elif self.busy_here == 0 and (not self.workers or self.queued >= BATCH):
                # The thread takes a share only while a full batch waits for busy workers:
                # a queue that grows here would hold pages the workers could have taken.
                self.busy_here += 1
                self._to_thread(self._take())
            else:
                return

    def _take(self) -> _Batch:
        """The oldest open batch, cut to about ``BATCH`` pages (the rest stays open, first in line)."""
        run_id, batch = self.open.popitem(last=False)
        taken = _Batch(batch.source, run_id)
        count = 0
        while batch.jobs and count < BATCH:
            pages, future = batch.jobs.pop(0)
            taken.jobs.append((pages, future))
            count += len(pages)
        self.queued -= count
        if batch.jobs:
            self.open[run_id] = batch
            self.open.move_to_end(run_id, last=False)
        return taken

    def _to_thread(self, batch: _Batch) -> None:
        """This process's share: the whole ingest without workers, else parsing for the workers.

        With workers, the thread only parses and the workers store (as in a ``scrapy crawl``
        child): the rules are compiled in the workers alone and one process writes.
        """
        if self.here is None:
            self.here = ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor-ingest")
        work = self._ingest_here if not self.workers else self._parse_here
        done = self.here.submit(work, batch)

        def settle(finished: Future[Counts | None]) -> None:
            error = finished.exception()
            store = error is None and bool(self.workers and batch.parsed)
            with self.lock:
                self.busy_here -= 1
                if store:  # parsed: on to a worker, beyond the limit
                    self.busy += 1
                    self._to_workers(batch, tries=2)
                self._pump()
                self.idle.notify_all()
            if error is not None:
                batch.fail(error)
            elif not store:
                batch.settle(finished.result() or batch.counted)

        done.add_done_callback(settle)

    def _ingest_here(self, batch: _Batch) -> Counts:
        rules = self.rules.current()
        return Ingester(self.config, batch.source, rules, self.database, batch.run_id).ingest(batch.pages)

    def _parse_here(self, batch: _Batch) -> None:
        parser = Ingester(self.config, batch.source, None, self.database, batch.run_id)
        articles, failures = parser.parse(batch.pages)
        parser.record(failures)
        batch.parsed = articles
        batch.counted = Counts(pages=len(batch.pages), failed=Counter(failure.reason for failure in failures))

    def _to_workers(self, batch: _Batch, tries: int) -> None:
        """Hand the batch to a worker; when the pool breaks, try once more in a new one.

        Every job waiting in a pool that breaks fails with it, not only the one that killed
        the worker: each is tried again, and a page that kills a worker twice is recorded.
        """
        with self.lock:
            pool = self.pool
            assert pool is not None
            try:
                done = pool.submit(
                    _ingest_in_worker, batch.source, batch.run_id, batch.unparsed, batch.parsed
                )
            except BrokenProcessPool:
                pool = self._replace(pool)
                done = pool.submit(
                    _ingest_in_worker, batch.source, batch.run_id, batch.unparsed, batch.parsed
                )

        def settle(finished: Future[Counts]) -> None:
            broken = finished.cancelled() or isinstance(finished.exception(), BrokenProcessPool)
            if broken:
                with self.lock:
                    self._replace(pool)
                if tries > 1:
                    self._to_workers(batch, tries - 1)
                    return
                try:
                    batch.settle(self._lost(batch))
                except Exception as exc:  # the database is gone too
                    batch.fail(exc)
            elif (error := finished.exception()) is not None:
                batch.fail(error)
            else:
                counts = finished.result()
                counts.add(batch.counted)
                batch.settle(counts)
            with self.lock:
                self.busy -= 1
                self._pump()
                self.idle.notify_all()

        done.add_done_callback(settle)

    def _replace(self, broken: Executor) -> Executor:
        """A new pool for a broken one (once: several jobs see the same break). Holds ``self.lock``."""
        if self.pool is broken:
            log.error("an ingest worker process died; starting new workers")
            self.pool = self._new_pool()  # first: the cancelled jobs' callbacks send them there
            broken.shutdown(wait=False, cancel_futures=True)
        assert self.pool is not None
        return self.pool

    def _lost(self, batch: _Batch) -> Counts:
        """Record the batch's pages as failures of its run: the worker that had them died."""
        urls = [article.url for article in batch.parsed] or [page.url for page in batch.pages]
        failures = [Failure(url, "parse-error", WORKER_DIED) for url in urls]
        with self.database.transaction() as session:
            record_failures(session, batch.run_id, batch.source.name, failures, datetime.now(UTC))
        counts = Counts(
            pages=0 if batch.counted.pages else len(failures), failed=Counter({"parse-error": len(urls)})
        )
        counts.add(batch.counted)
        return counts

    def close(self, timeout: float = 600.0) -> None:
        """Finish what is handed over and waiting (for at most ``timeout`` s), then stop."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while (self.open or self.busy or self.busy_here) and time.monotonic() < deadline:
                self.idle.wait(timeout=1.0)
            pool, here = self.pool, self.here
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if here is not None:
            here.shutdown(wait=True)


# -- in a worker process -------------------------------------------------------------------
_worker_config: Config | None = None
_worker_database: Database | None = None
_worker_rules: CurrentRules | None = None


def _start_worker(config: Config) -> None:
    """Open the database and compile the rules once per worker; ignore Ctrl-C; die with the parent."""
    global _worker_config, _worker_database, _worker_rules
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_config = config
    _worker_database = Database(config.database_url)  # the engine checked the schema
    _worker_rules = CurrentRules(_worker_database, config.rule_paths, RULES_CHECK)
    _worker_rules.current()
    threading.Thread(target=_watch_parent, name="monitor-parent-watch", daemon=True).start()


def _watch_parent() -> None:
    parent = multiprocessing.parent_process()
    while parent is not None and parent.is_alive():
        time.sleep(PARENT_CHECK)
    os._exit(0)  # the engine's process is gone: nothing will read what this worker does


def _ingest_in_worker(source: Source, run_id: int, pages: list[Page], parsed: list[Article]) -> Counts:
    assert _worker_config is not None
    assert _worker_rules is not None
    rules = _worker_rules.current()
    return Ingester(_worker_config, source, rules, _worker_database, run_id).ingest(pages, parsed)
