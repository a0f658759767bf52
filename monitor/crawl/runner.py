"""Run crawls: one ``scrapy crawl news`` child process per source, then the source's health.

A child process per crawl is the simple case of Scrapy's "run from a script" docs: one bad
crawl cannot take the scheduler down, and the Twisted reactor never needs restarting in
our process. The parent opens the ``crawl_runs`` row and hands its id to the child
(``MONITOR_RUN_ID``) with the per-crawl Scrapy settings from monitor.yaml
(``monitor.crawl.settings.crawl_settings``); the child
records its figures and each failure there.

Time is bounded twice: the child closes itself at ``crawl.timeout`` (Scrapy's
``CLOSESPIDER_TIMEOUT``, keeping what it fetched), and the parent kills it if it is still
running a grace period later (a request may take ``page_timeout`` to give up; no
``Retry-After`` wait runs past ``crawl.timeout``: ``monitor.crawl.politeness`` sees to it).
Then the parent closes the run if the child could not, updates ``source_health``
(``monitor.crawl.health``) and sends the operator a notice through apprise
(``monitor.notify.send``) when a source starts failing, goes quiet or recovers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from monitor.config.model import Config, Source
from monitor.crawl.health import is_due
from monitor.crawl.outcome import INTERRUPTED, CrawlResult, settle_run
from monitor.crawl.settings import crawl_settings
from monitor.store.database import Database
from monitor.store.locks import crawl_lock
from monitor.store.models import CrawlRun
from monitor.store.runs import health_of, start_run

log = logging.getLogger(__name__)
GRACE = 30  # seconds past the child's own time limit before the parent kills it
ORPHAN_AGE = timedelta(minutes=1)  # a running row older than this with a free crawl lock is orphaned
_children: set[subprocess.Popen[bytes]] = set()
_children_lock = threading.Lock()
_stopping = False  # set by stop_children, under _children_lock: no new child may start


class CrawlInterrupted(Exception):
    """A crawl asked to start after shutdown began (``stop_children``); it never ran."""


def crawl_sources(
    config: Config,
    sources: Iterable[Source],
    *,
    parallel: int = 2,
    timeout: float | None = None,
    log_level: str = "WARNING",
    on_done: Callable[[CrawlResult], None] | None = None,
) -> list[CrawlResult]:
    """Crawl ``sources`` in child processes, ``parallel`` at a time; results in order."""
    sources = list(sources)
    Database.open(config.database_url).close()  # a new database is migrated here, once, not by each thread

    def one(source: Source) -> CrawlResult:
        result = crawl_source(config, source, timeout=timeout, log_level=log_level)
        if on_done is not None:
            on_done(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(one, sources))


def crawl_if_due(config: Config, source: Source, log_level: str = "WARNING") -> CrawlResult | None:
    """Crawl ``source`` unless adaptive polling or a ``Retry-After`` says not yet (None then)."""
    with Database.open(config.database_url) as database, database.transaction() as session:
        due = is_due(health_of(session, source.name), datetime.now(UTC))
    return crawl_source(config, source, log_level=log_level) if due else None


def crawl_source(
    config: Config,
    source: Source,
    *,
    timeout: float | None = None,
    log_level: str = "WARNING",
    settings: Mapping[str, object] | None = None,
) -> CrawlResult:
    """Crawl one source in a child process, close its run record, update its health.

    ``settings`` are extra Scrapy settings for the child (benchmarks turn AutoThrottle off).
    """
    if config.path is None:
        raise ValueError("crawls need a Config loaded from a file (the child reads it again)")
    if stopping():
        return CrawlResult(source.name, False, 0, 0, 0.0, "monitor is shutting down", INTERRUPTED)
    if timeout is None:
        timeout = config.crawl.timeout + config.crawl.page_timeout + GRACE
    env = dict(os.environ)
    env["SCRAPY_SETTINGS_MODULE"] = "monitor.crawl.settings"
    env["MONITOR_DATABASE_URL"] = config.database_url  # in the environment, not in `ps`
    started = time.monotonic()
    with Database.open(config.database_url) as database:
        close_orphaned_runs(database, source.name)
        with database.transaction() as session:
            run_id = start_run(session, source.name, datetime.now(UTC))
        # Our own child stops if we die (monitor.crawl.parentwatch); a scrapyd crawl has no such parent.
        extra = {"MONITOR_PARENT_PID": os.getpid(), **(settings or {})}
        command = _command(config, source, run_id, log_level, extra)
        try:
            returncode, stderr = _run_child(command, env, timeout)
        except CrawlInterrupted:  # shutdown began between start_run and the child's start
            returncode, stderr = 0, ""
        if returncode is None:
            lost = f"timed out after {timeout:.0f} s and was stopped"
        else:
            tail = " | ".join(stderr.strip().splitlines()[-3:])
            lost = f"crawl process exited {returncode}: {tail}"
        result = settle_run(
            config, database, source, run_id, time.monotonic() - started, lost=lost, stopped=stopping()
        )
    return result


def close_orphaned_runs(database: Database, source: str) -> None:
    """Close as ``interrupted`` the runs of ``source`` left ``running`` by a crawl that was killed.

    A crawl process holds its source's crawl lock (``monitor.store.locks``) for as long as it
    lives, so when the lock is free no crawl of the source runs anywhere, and every run row
    still ``running`` lost its process (the whole process tree was killed). Runs younger
    than ``ORPHAN_AGE`` are left alone: their child may be starting and not hold the lock yet.
    """
    lock = crawl_lock(database.url, source)
    if lock is None:  # a crawl of this source is running: its rows are its own
        return
    try:
        now = datetime.now(UTC)
        with database.transaction() as session:
            orphans = session.scalars(
                select(CrawlRun).where(
                    CrawlRun.source == source,
                    CrawlRun.status == "running",
                    CrawlRun.started_at < now - ORPHAN_AGE,
                )
            ).all()
            for run in orphans:
                log.warning("crawl run %d of %s lost its process: closed as interrupted", run.id, source)
                run.status, run.finished_at = INTERRUPTED, now
                run.error = "its crawl process was gone (killed with its parent)"
    finally:
        lock.release()


def _command(
    config: Config, source: Source, run_id: int, log_level: str, extra: Mapping[str, object]
) -> list[str]:
    """The child's command line: ``scrapy crawl news`` with the crawl's settings as ``-s`` pairs."""
    settings = {**crawl_settings(config, source), "MONITOR_RUN_ID": run_id, "LOG_LEVEL": log_level, **extra}
    command = [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"source={source.name}"]
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    return command


def _run_child(command: list[str], env: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """Run the child in its own process group, remembering it so ``stop_children`` can end it.

    On timeout (or an interrupt of ours) the whole group is killed: the crawl process and
    any ingest workers it spawned, which would otherwise hold its stderr pipe open.
    """
    with _children_lock:  # checked and registered at once: stop_children misses no child
        if _stopping:
            raise CrawlInterrupted
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        _children.add(process)
    try:
        _, stderr = process.communicate(timeout=timeout)
        return process.returncode, stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        _kill_group(process)
        _, stderr = process.communicate()
        return None, stderr.decode("utf-8", "replace")
    except BaseException:
        _kill_group(process)
        raise
    finally:
        with _children_lock:
            _children.discard(process)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def stopping() -> bool:
    """True once ``stop_children`` has run: crawls still queued must not start."""
    with _children_lock:
        return _stopping


def allow_children() -> None:
    """Let crawls start again (``monitor run`` calls it when it starts scheduling)."""
    global _stopping
    with _children_lock:
        _stopping = False


def stop_children(grace: float = 10.0) -> None:
    """Start no more crawls; ask running children to stop (SIGTERM: Scrapy closes cleanly), then kill."""
    global _stopping
    with _children_lock:
        _stopping = True
        children = list(_children)
    for child in children:
        child.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill_group(child)
