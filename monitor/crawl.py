"""Run crawls: one ``scrapy crawl news`` child process per source.

A child process per crawl is the simple case of Scrapy's "run from a script" docs: one bad
crawl cannot take the scheduler down, and the Twisted reactor never needs restarting in
our process. The child reads the same ``monitor.yaml`` (path in ``MONITOR_CONFIG``) and
records its figures in the ``crawl_runs`` table, which the parent reads back.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select

from monitor.config import Config, Source
from monitor.models import CrawlRun
from monitor.store import Database

DEFAULT_TIMEOUT = 15 * 60
_children: set[subprocess.Popen[bytes]] = set()
_children_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class CrawlResult:
    """The outcome of one source's crawl, as the parent sees it."""

    source: str
    ok: bool
    pages: int
    stored: int
    seconds: float
    error: str | None = None


def crawl_sources(
    config: Config,
    sources: Iterable[Source],
    *,
    parallel: int = 2,
    timeout: float = DEFAULT_TIMEOUT,
    log_level: str = "WARNING",
    on_done: Callable[[CrawlResult], None] | None = None,
) -> list[CrawlResult]:
    """Crawl ``sources`` in child processes, ``parallel`` at a time; results in order."""
    sources = list(sources)

    def one(source: Source) -> CrawlResult:
        result = crawl_source(config, source, timeout=timeout, log_level=log_level)
        if on_done is not None:
            on_done(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(one, sources))


def crawl_source(
    config: Config, source: Source, *, timeout: float = DEFAULT_TIMEOUT, log_level: str = "WARNING"
) -> CrawlResult:
    """Crawl one source in a child process and read its crawl-run record back."""
    if config.path is None:
        raise ValueError("crawls need a Config loaded from a file (the child reads it again)")
    command = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "news",
        "-a",
        f"source={source.name}",
        "-s",
        f"MONITOR_CONFIG={config.path}",
        "-s",
        f"USER_AGENT={config.user_agent}",
        "-s",
        f"LOG_LEVEL={log_level}",
    ]
    env = dict(os.environ)
    env["SCRAPY_SETTINGS_MODULE"] = "monitor.settings"
    env["MONITOR_DATABASE_URL"] = config.database_url  # in the environment, not in `ps`
    started = time.monotonic()
    database = Database(config.database_url)
    try:
        with database.transaction() as session:
            before = session.scalar(select(CrawlRun.id).order_by(CrawlRun.id.desc()).limit(1)) or 0
        returncode, stderr = _run_child(command, env, timeout)
        seconds = time.monotonic() - started
        with database.transaction() as session:
            run = session.scalar(
                select(CrawlRun)
                .where(CrawlRun.source == source.name, CrawlRun.id > before)
                .order_by(CrawlRun.id.desc())
                .limit(1)
            )
    finally:
        database.close()
    if returncode is None:
        return CrawlResult(
            source.name,
            False,
            run.pages_fetched if run else 0,
            run.articles_stored if run else 0,
            seconds,
            f"timed out after {timeout:.0f} s",
        )
    if run is None or returncode != 0:
        tail = " | ".join(line for line in stderr.strip().splitlines()[-3:])
        return CrawlResult(source.name, False, 0, 0, seconds, f"crawl process exited {returncode}: {tail}")
    return CrawlResult(
        source.name, run.error is None, run.pages_fetched, run.articles_stored, seconds, run.error
    )


def _run_child(command: list[str], env: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """Run the child, remembering it so ``stop_children`` can end it on shutdown."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with _children_lock:
        _children.add(process)
    try:
        _, stderr = process.communicate(timeout=timeout)
        return process.returncode, stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        return None, stderr.decode("utf-8", "replace")
    finally:
        with _children_lock:
            _children.discard(process)


def stop_children(grace: float = 10.0) -> None:
    """Ask running crawl children to stop (SIGTERM: Scrapy closes cleanly), then kill."""
    with _children_lock:
        children = list(_children)
    for child in children:
        child.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
