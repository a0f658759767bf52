"""One active scheduler on PostgreSQL: kill -9 the leader, the standby takes over.

Real processes against the real PostgreSQL and the demo site: two ``monitor run`` on one
database, the first leads, the second stands by; the leader is killed with SIGKILL (its
crawl children are left running, as after an OOM kill). The standby must take over within
a bounded time, never run a crawl of a source beside another crawl of it (the crawl
processes hold a lock per source, so a crawl left running by the dead leader makes the new
leader's crawl of that source stand down), and lose no scheduled crawl: every source is
crawled again after the takeover.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.demo.server import SiteServer, site_root
from monitor.store.database import Database
from monitor.store.models import CrawlRun

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ROOT = Path(__file__).parents[2]
TAKEOVER_BOUND = 15.0  # poll (2 s) + start-up of APScheduler on a busy two-core machine


def _write_config(path: Path, sites: dict[str, SiteServer], database_url: str) -> None:
    path.write_text(
        f"""\
database: '{database_url}'
rules: [{ROOT / "rules"}]
sources:
  - name: autoguide-feed
    kind: feed
    url: {sites["autoguide-feed"].url}/autoguide/feed.xml
    schedule: {{every: 1s, jitter: 0}}
    allow_private: true
  - name: motorwire-industry
    kind: listing
    url: {sites["motorwire-industry"].url}/motorwire/industry/
    follow: ['/motorwire/20']
    schedule: {{every: 1s, jitter: 0}}
    allow_private: true
dispatch: {{every: 1s}}
""",
        encoding="utf-8",
    )


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MONITOR_")}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )


def _wait_for(what: str, check: object, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return time.monotonic()
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _started(process: subprocess.Popen[bytes], log: Path, line: str = "press Ctrl-C") -> bool:
    """Whether ``line`` was printed; fails at once if the process has exited."""
    output = log.read_text()
    assert process.poll() is None, output
    return line in output


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _runs(database: Database) -> list[CrawlRun]:
    with database.transaction() as session:
        return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))


def test_standby_takes_over_when_the_leader_is_killed(tmp_path: Path, postgres_url: str) -> None:
    config = tmp_path / "monitor.yaml"
    leader_log, standby_log = tmp_path / "leader.log", tmp_path / "standby.log"
    database = Database.open(postgres_url)
    orphans: list[int] = []
    # One site server per source, so that each server's request log is one source's crawls.
    with SiteServer(site_root()) as feed_site, SiteServer(site_root()) as listing_site:
        sites = {"autoguide-feed": feed_site, "motorwire-industry": listing_site}
        _write_config(config, sites, postgres_url)
        leader = _start(config, leader_log)
        standby: subprocess.Popen[bytes] | None = None
        try:
            _wait_for("the leader to start", lambda: _started(leader, leader_log), 60)
            standby = _start(config, standby_log)
            _wait_for("the standby to wait", lambda: _started(standby, standby_log, "standby"), 60)

            def crawled_both() -> bool:
                done = {run.source for run in _runs(database) if run.status == "ok"}
                return done == {"autoguide-feed", "motorwire-industry"}

            _wait_for("the leader's first crawls", crawled_both, 90)
            assert "press Ctrl-C" not in standby_log.read_text()  # still standing by

            orphans = _children(leader.pid)
            leader.kill()
            leader.wait(timeout=10)
            killed_at = time.monotonic()
            killed_wall = datetime.now(UTC)
            took_over = _wait_for(
                "the standby to take over",
                lambda: "press Ctrl-C" in standby_log.read_text(),
                TAKEOVER_BOUND + 30,
            )
            assert took_over - killed_at < TAKEOVER_BOUND, standby_log.read_text()

            def crawled_again() -> bool:
                fresh = {
                    run.source
                    for run in _runs(database)
                    if run.status == "ok" and run.started_at > killed_wall
                }
                return fresh == {"autoguide-feed", "motorwire-industry"}

            _wait_for("crawls of every source after the takeover", crawled_again, 90)
        finally:
            for process in (leader, standby):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait(timeout=60)
            for pid in orphans:  # the killed leader's crawl children, if still running
                _wait_for_exit(pid, 60)
    assert standby is not None
    assert standby.returncode == 0, standby_log.read_text()

    # No two crawls of one source ever fetched at once. Every crawl process reads robots.txt
    # before anything else and a refused one fetches nothing, so on each source's own server
    # two crawls at once would show as two robots.txt requests with no page between them.
    runs = _runs(database)
    database.close()
    for source, site in sites.items():
        log = list(site.requests)
        crawls = [run for run in runs if run.source == source and run.status != "skipped"]
        assert log[0] == "/robots.txt", log
        for first, second in itertools.pairwise(log):
            assert (first, second) != ("/robots.txt", "/robots.txt"), f"{source}: two crawls at once: {log}"
        assert 2 <= log.count("/robots.txt") <= len(crawls), (log, len(crawls))  # before and after


def _wait_for_exit(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
