"""The engine's ingest in worker processes (``crawl.workers``): same results, dead workers replaced."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config.model import Config, Source, load_config
from monitor.crawl.engine import CrawlEngine
from monitor.crawl.ingest import Page
from monitor.crawl.sharedingest import SharedIngest
from monitor.demo.server import SiteServer
from monitor.store.database import Database
from monitor.store.models import ArticleRow, MatchRow
from monitor.store.runs import start_run

ROOT = Path(__file__).parents[2]
SITE = ROOT / "monitor" / "demo" / "site" / "autoguide" / "2010"
ALLIANCE = SITE / "04" / "daimler-renault-team-up-for-small-car-alliance.html"
MICRA = SITE / "03" / "nissan-unveils-all-new-global-micra-in-geneva.html"


def _config(tmp_path: Path, name: str, workers: int, url: str = "http://127.0.0.1:9") -> Config:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"""\
database: sqlite:///{tmp_path / f"{name}.db"}
rules: ['{ROOT / "rules"}']
crawl: {{page_timeout: 5s, workers: {workers}}}
sources:
  - {{name: feed, kind: feed, url: '{url}/autoguide/feed.xml', allow_private: true}}
  - {{name: listing, kind: listing, url: '{url}/motorwire/industry/',
      follow: ['/motorwire/industry/\\d{{4}}/\\d{{2}}/[^/]+/$'], allow_private: true}}
""",
        encoding="utf-8",
    )
    config = load_config(path, environ={})
    Database.open(config.database_url).close()
    return config


def _stored(config: Config) -> tuple[set[str], set[tuple[str, str]]]:
    with Database(config.database_url) as database, database.transaction() as session:
        urls = set(session.scalars(select(ArticleRow.url)))
        rows = session.execute(select(ArticleRow.url, MatchRow.rule).join(MatchRow.article))
        matches = {(url, rule) for url, rule in rows}
    return urls, matches


def _page(path: Path) -> Page:
    return Page(f"http://127.0.0.1:9/{path.name}", path.read_bytes())


@pytest.mark.timeout(240)
def test_worker_processes_store_and_match_what_the_thread_does(tmp_path: Path, demo_site: SiteServer) -> None:
    results = {}
    for workers in (0, 2):
        config = _config(tmp_path, f"w{workers}", workers, demo_site.url)
        engine = CrawlEngine(config)
        try:
            crawled = engine.crawl(config.sources)
        finally:
            engine.stop()
        assert all(result.status == "ok" for result in crawled), crawled
        results[workers] = _stored(config)
    urls, matches = results[2]
    assert len(urls) >= 10
    assert any("daimler-renault" in url for url, _ in matches)
    assert results[2] == results[0]


@contextlib.contextmanager
def _ingest(tmp_path: Path, name: str, workers: int) -> Iterator[tuple[SharedIngest, Source, int]]:
    """A ``SharedIngest`` on a fresh database, the source ``feed`` and a crawl run of it."""
    config = _config(tmp_path, name, workers)
    database = Database(config.database_url)
    ingest = SharedIngest(config, database)
    try:
        with database.transaction() as session:
            run_id = start_run(session, "feed", datetime.now(UTC))
        yield ingest, config.source("feed"), run_id
    finally:
        ingest.close()
        database.close()


def _copies(path: Path, count: int) -> list[Page]:
    """``count`` pages of ``path``'s article at distinct addresses."""
    body = path.read_bytes()
    return [Page(f"http://127.0.0.1:9/copy-{n}.html", body) for n in range(count)]


def _worker_pids(ingest: SharedIngest) -> list[int]:
    processes = getattr(ingest.pool, "_processes", None) or {}
    return list(processes)


@pytest.mark.timeout(120)
def test_a_killed_worker_is_replaced_and_its_page_tried_again(tmp_path: Path) -> None:
    with _ingest(tmp_path, "killed", 1) as (ingest, source, run_id):
        first = ingest.submit(source, run_id, [_page(MICRA)]).result(timeout=60)
        assert first.stored == 1
        (pid,) = _worker_pids(ingest)
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        again = ingest.submit(source, run_id, [_page(ALLIANCE)]).result(timeout=60)
        assert again.stored == 1, again  # sent to a new worker, not lost
        assert again.alerts >= 1
        assert _worker_pids(ingest) != [pid]
    urls, matches = _stored(ingest.config)
    assert len(urls) == 2
    assert any("daimler-renault" in url for url, _ in matches)


@pytest.mark.timeout(120)
def test_pages_in_a_worker_that_dies_are_tried_again_in_a_new_one(tmp_path: Path) -> None:
    pages = _copies(MICRA, 150)
    with _ingest(tmp_path, "inflight", 1) as (ingest, source, run_id):
        assert ingest.submit(source, run_id, [_page(ALLIANCE)]).result(timeout=60).stored == 1
        (pid,) = _worker_pids(ingest)
        busy = ingest.submit(source, run_id, pages)
        time.sleep(0.3)  # the worker is parsing them
        assert not busy.done()
        os.kill(pid, signal.SIGKILL)
        counts = busy.result(timeout=90)
    assert counts.pages == len(pages)
    assert counts.stored == len(pages), counts  # all of them, from the new worker
    assert not counts.failed


@pytest.mark.timeout(120)
def test_waiting_pages_go_in_batches_and_this_process_takes_a_share(tmp_path: Path) -> None:
    with _ingest(tmp_path, "behind", 1) as (ingest, source, run_id):
        jobs = [ingest.submit(source, run_id, [page]) for page in _copies(MICRA, 20)]
        counts = [job.result(timeout=90) for job in jobs]
        assert ingest.here is not None  # the worker fell behind: this process took a share
    assert sum(count.stored for count in counts) == 20
    assert sum(count.pages for count in counts) == 20
    assert max(count.pages for count in counts) > 1  # pages that waited went together, in one transaction
    assert (ingest.busy, ingest.busy_here, ingest.waiting()) == (0, 0, 0)


@pytest.mark.timeout(120)
def test_workers_exit_when_the_engine_process_is_killed(tmp_path: Path) -> None:
    config = _config(tmp_path, "orphans", 2)
    script = textwrap.dedent(
        f"""
        import sys, time
        from datetime import UTC, datetime
        from pathlib import Path
        from monitor.config.model import load_config
        from monitor.crawl.ingest import Page
        from monitor.crawl.sharedingest import SharedIngest
        from monitor.store.database import Database
        from monitor.store.runs import start_run

        config = load_config({str(config.path)!r}, environ={{}})
        database = Database(config.database_url)
        with database.transaction() as session:
            run_id = start_run(session, "feed", datetime.now(UTC))
        ingest = SharedIngest(config, database)
        page = Page("http://127.0.0.1:9/a.html", Path({str(MICRA)!r}).read_bytes())
        ingest.submit(config.source("feed"), run_id, [page]).result(timeout=60)
        print(*ingest.pool._processes, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=ROOT)
    try:
        assert parent.stdout is not None
        pids = [int(pid) for pid in parent.stdout.readline().split()]
        assert pids, "no worker started"
        assert all(_alive(pid) for pid in pids)
    finally:
        parent.kill()
        parent.communicate()
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in pids), "an ingest worker outlived its engine"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except OSError:
        return False
    return state != "Z"
