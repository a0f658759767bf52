"""No orphans: a crawl child ends with the `monitor crawl --processes` that started it, an
in-process `monitor crawl` stopped by SIGTERM records its run as interrupted, and a run row left
`running` by a crawl killed with its whole process tree is closed by the next crawl.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from faultserver import FaultServer
from monitorproc import monitor_env
from sqlalchemy import select

from monitor.config.model import load_config
from monitor.crawl.runner import crawl_source
from monitor.store.database import Database
from monitor.store.models import CrawlRun

pytestmark = pytest.mark.slow


def _config(tmp_path: Path, site: FaultServer, page_timeout: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"""\
database: sqlite:///{tmp_path / "monitor.db"}
rules: []
crawl: {{page_timeout: {page_timeout}, timeout: 120s}}
sources:
  - {{name: faults, kind: feed, url: '{site.url}/feed.xml', allow_private: true}}
""",
        encoding="utf-8",
    )
    return path


def _runs(url: str) -> list[CrawlRun]:
    database = Database(url)
    try:
        with database.transaction() as session:
            return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))
    except Exception:  # not created yet
        return []
    finally:
        database.close()


def _crawl_children(config: Path) -> list[int]:
    """Process ids of live crawl processes started for ``config`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if b"scrapy" in command and f"MONITOR_CONFIG={config}".encode() in command and state != "Z":
            found.append(int(entry.name))
    return found


def _slow_crawl(site: FaultServer, config: Path, *options: str, stderr: int) -> subprocess.Popen[bytes]:
    """`monitor crawl` of 80 pages that take a second each, returned once its third is asked for."""
    site.feed_paths = ["/news/ok-1.html"] + [f"/news/slow.html?n={n}" for n in range(80)]
    crawl = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitor",
            "--config",
            str(config),
            "crawl",
            *options,
            "--no-dispatch",
            "faults",
        ],
        stdout=subprocess.DEVNULL,  # nobody reads it: a full pipe must not stall the crawl
        stderr=stderr,
        env=monitor_env(),
    )
    deadline = time.monotonic() + 90
    while site.count("/news/slow.html") < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert site.count("/news/slow.html") >= 3, "the crawl never got going"
    return crawl


@pytest.mark.timeout(180)
def test_killing_monitor_crawl_stops_its_crawl_child(tmp_path: Path) -> None:
    with FaultServer() as site:
        # The crawl outlasts the test unless it stops.
        config = _config(tmp_path, site, page_timeout="30s")
        url = load_config(config, environ={}).database_url
        parent = _slow_crawl(site, config, "--processes", stderr=subprocess.DEVNULL)
        assert _crawl_children(config), "no crawl child found"
        parent.send_signal(signal.SIGKILL)  # the parent only: the child has its own session
        parent.wait()
        killed = time.monotonic()
        while _crawl_children(config) and time.monotonic() - killed < 15:
            time.sleep(0.2)
        assert _crawl_children(config) == [], "the crawl child outlived its parent"
        (run,) = _runs(url)
        assert run.status == "interrupted", (run.status, run.error)
        assert run.articles_stored >= 1  # what it had stored stays stored
        assert site.count("/news/slow.html") < 40  # it stopped, rather than finishing the crawl


@pytest.mark.timeout(180)
def test_sigterm_stops_an_in_process_crawl_and_records_it_interrupted(tmp_path: Path) -> None:
    with FaultServer() as site:
        config = _config(tmp_path, site, page_timeout="30s")
        url = load_config(config, environ={}).database_url
        crawl = _slow_crawl(site, config, stderr=subprocess.PIPE)
        assert _crawl_children(config) == [], "the default crawl started a child process"
        crawl.send_signal(signal.SIGTERM)
        _, stderr = crawl.communicate(timeout=60)
        assert crawl.returncode == 130, stderr.decode(errors="replace")
        assert b"recorded as interrupted" in stderr
        (run,) = _runs(url)
        assert run.status == "interrupted", (run.status, run.error)
        assert run.finished_at is not None
        assert run.articles_stored >= 1  # what it had stored stays stored
        assert site.count("/news/slow.html") < 40  # it stopped, rather than finishing the crawl


@pytest.mark.timeout(180)
def test_the_next_crawl_closes_a_run_whose_process_is_gone(tmp_path: Path) -> None:
    with FaultServer() as site:
        site.feed_paths = ["/news/ok-1.html"]
        config = load_config(_config(tmp_path, site, page_timeout="5s"), environ={})
        database = Database.open(config.database_url)
        with database.transaction() as session:  # what a crawl killed with its whole tree leaves
            session.add(CrawlRun(source="faults", started_at=datetime.now(UTC) - timedelta(hours=2)))
        database.close()
        result = crawl_source(config, config.source("faults"))
    assert result.status == "ok", result
    orphan, new = _runs(config.database_url)
    assert (orphan.status, new.status) == ("interrupted", "ok")
    assert orphan.finished_at is not None
