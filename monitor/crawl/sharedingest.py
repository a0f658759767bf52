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
  cores than the fetching, which is what a big ``monitor crawl`` needs. While the workers
  are behind (``BEHIND`` jobs each waiting), this process ingests pages too, in a thread, as
  a ``scrapy crawl`` child does (``monitor.crawl.ingest``): every core parses, and the split
  finds its own balance.

A worker that dies (killed, out of memory, a crash in a C parser) breaks the pool: the pages
it had are recorded as failures of their crawl runs (reason ``parse-error``), a new pool is
started, and the other crawls go on. Workers ignore Ctrl-C (the engine stops the crawls and
lets the workers finish what was handed to them) and exit on their own when their parent is
gone, so none outlives a killed ``monitor``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import Counter
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime

from monitor.config.model import Config, Source
from monitor.crawl.ingest import Counts, Ingester, Page, load_ruleset
from monitor.store.database import Database
from monitor.store.runs import Failure, record_failures
from monitor.watch.cache import fingerprint
from monitor.watch.rules import RuleSet

log = logging.getLogger(__name__)
RULES_CHECK = 5.0  # seconds between looks at the rule files for changes
PARENT_CHECK = 2.0  # seconds between a worker's checks that its parent is alive
BEHIND = 2  # jobs waiting per worker process beyond which this process ingests too
WORKER_DIED = "the ingest worker process died while parsing this page (killed, or out of memory?)"


class Rules:
    """The config's compiled rules, compiled again when the rule files' contents change."""

    def __init__(self, config: Config, database: Database) -> None:
        self.config = config
        self.database = database
        self.rules: RuleSet | None = None
        self.key = ""
        self.checked = 0.0

    def current(self) -> RuleSet:
        """The rules, looking at the files at most every ``RULES_CHECK`` seconds."""
        now = time.monotonic()
        if self.rules is None or now - self.checked >= RULES_CHECK:
            self.checked = now
            key = fingerprint(list(self.config.rule_paths))
            if self.rules is None or key != self.key:
                self.rules, self.key = load_ruleset(self.config, self.database), key
        return self.rules


class SharedIngest:
    """Parses, matches and stores the pages of every crawl of the engine: a thread or worker processes."""

    def __init__(self, config: Config, database: Database, workers: int | None = None) -> None:
        self.config = config
        self.database = database
        self.workers = config.crawl.workers if workers is None else workers
        self.rules = Rules(config, database)
        self.lock = threading.RLock()  # a pool's shutdown calls its jobs' callbacks, which take it
        self.pool = self._new_pool()
        self.waiting = 0  # jobs handed to the worker processes and not done
        self.here: ThreadPoolExecutor | None = None  # this process's share while the workers are behind

    def _new_pool(self) -> Executor:
        if self.workers <= 0:
            return ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor-ingest")
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.config,),
        )

    def submit(self, source: Source, run_id: int, pages: list[Page]) -> Future[Counts]:
        """Ingest ``pages`` of ``source`` for run ``run_id``; a dead worker's pages come back as failures."""
        if self.workers <= 0:
            return self.pool.submit(self._ingest_here, source, run_id, pages)
        with self.lock:
            behind = self.waiting >= BEHIND * self.workers
            if behind and self.here is None:
                self.here = ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor-ingest")
        if behind and self.here is not None:
            return self.here.submit(self._ingest_here, source, run_id, pages)
        result: Future[Counts] = Future()
        with self.lock:
            self.waiting += 1
        result.add_done_callback(self._done)
        self._send(result, source, run_id, pages, tries=2)
        return result

    def _done(self, _: Future[Counts]) -> None:
        with self.lock:
            self.waiting -= 1

    def _ingest_here(self, source: Source, run_id: int, pages: list[Page]) -> Counts:
        return Ingester(self.config, source, self.rules.current(), self.database, run_id).ingest(pages)

    def _send(
        self, result: Future[Counts], source: Source, run_id: int, pages: list[Page], tries: int
    ) -> None:
        """Hand the job to a worker; when the pool breaks, try once more in a new one.

        Every job waiting in a pool that breaks fails with it, not only the one that killed
        the worker: each is tried again, and a page that kills a worker twice is recorded.
        """
        with self.lock:
            pool = self.pool
            try:
                done = pool.submit(_ingest_in_worker, source, run_id, pages)
            except BrokenProcessPool:
                pool = self._replace(pool)
                done = pool.submit(_ingest_in_worker, source, run_id, pages)

        def settle(finished: Future[Counts]) -> None:
            if not finished.cancelled() and not isinstance(finished.exception(), BrokenProcessPool):
                error = finished.exception()
                if error is None:
                    result.set_result(finished.result())
                else:
                    result.set_exception(error)
                return
            with self.lock:
                self._replace(pool)
            try:
                if tries > 1:
                    self._send(result, source, run_id, pages, tries - 1)
                else:
                    result.set_result(self._lost(source, run_id, pages))
            except Exception as exc:  # the database is gone too, or the pool is shut down
                result.set_exception(exc)

        done.add_done_callback(settle)

    def _replace(self, broken: Executor) -> Executor:
        """A new pool for a broken one (once: several jobs see the same break). Holds ``self.lock``."""
        if self.pool is broken:
            log.error("an ingest worker process died; starting new workers")
            self.pool = self._new_pool()  # first: the cancelled jobs' callbacks send them there
            broken.shutdown(wait=False, cancel_futures=True)
        return self.pool

    def _lost(self, source: Source, run_id: int, pages: list[Page]) -> Counts:
        """Record ``pages`` as failures of run ``run_id``: the worker that had them died."""
        failures = [Failure(page.url, "parse-error", WORKER_DIED) for page in pages]
        with self.database.transaction() as session:
            record_failures(session, run_id, source.name, failures, datetime.now(UTC))
        return Counts(pages=len(pages), failed=Counter(failure.reason for failure in failures))

    def close(self) -> None:
        """Finish what is queued, then stop the thread or the workers."""
        with self.lock:
            pool, here = self.pool, self.here
        pool.shutdown(wait=True)
        if here is not None:
            here.shutdown(wait=True)


# -- in a worker process -------------------------------------------------------------------
_worker_config: Config | None = None
_worker_database: Database | None = None
_worker_rules: Rules | None = None


def _start_worker(config: Config) -> None:
    """Open the database and compile the rules once per worker; ignore Ctrl-C; die with the parent."""
    global _worker_config, _worker_database, _worker_rules
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_config = config
    _worker_database = Database(config.database_url)  # the engine checked the schema
    _worker_rules = Rules(config, _worker_database)
    _worker_rules.current()
    threading.Thread(target=_watch_parent, name="monitor-parent-watch", daemon=True).start()


def _watch_parent() -> None:
    parent = multiprocessing.parent_process()
    while parent is not None and parent.is_alive():
        time.sleep(PARENT_CHECK)
    os._exit(0)  # the engine's process is gone: nothing will read what this worker does


def _ingest_in_worker(source: Source, run_id: int, pages: list[Page]) -> Counts:
    assert _worker_config is not None
    assert _worker_rules is not None
    rules = _worker_rules.current()
    return Ingester(_worker_config, source, rules, _worker_database, run_id).ingest(pages)
