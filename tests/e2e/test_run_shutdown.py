"""SIGTERM to `monitor run` while crawls are queued: nothing new starts, nothing counts as failed.

With more sources due than crawl threads, APScheduler queues the rest in its executor; its
``shutdown(wait=True)`` used to run that queue after SIGTERM, so crawls started seconds after
the stop was asked for, and a crawl stopped by shutdown was recorded as ``failed``.
"""

from __future__ import annotations

import contextlib
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from monitorproc import start_monitor
from sqlalchemy import select

from monitor.demo.server import SiteServer, site_root
from monitor.store.database import Database
from monitor.store.models import CrawlRun, SourceHealth

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]
SOURCES = 8  # twice the scheduler's four crawl threads


def _runs(url: str) -> list[CrawlRun]:
    database = Database(url)
    try:
        with database.transaction() as session:
            return list(session.scalars(select(CrawlRun)))
    except Exception:  # the schema is not there yet: no run either
        return []
    finally:
        database.close()


@pytest.mark.timeout(240)
def test_sigterm_starts_no_queued_crawl_and_records_interrupted_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    with contextlib.ExitStack() as servers:
        # A site each: the engine polls one source of a host at a time, and the point here is
        # crawls running and queued at once.
        sites = [servers.enter_context(SiteServer(site_root())) for _ in range(SOURCES)]
        sources = "".join(
            f"""
  - name: feed-{index}
    kind: feed
    url: {site.url}/autoguide/feed.xml?copy={index}
    schedule: {{every: 1h, jitter: 0}}
    allow_private: true"""
            for index, site in enumerate(sites)
        )
        config = tmp_path / "monitor.yaml"
        config.write_text(
            f"database: {url}\nrules: [{ROOT / 'rules'}]\nsources:{sources}\n"
            "channels:\n  alerts: ['json://127.0.0.1:9/unused']\n",
            encoding="utf-8",
        )
        process = start_monitor(config, "run", cache=tmp_path / "cache")
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and process.poll() is None:
                if sum(run.status == "running" for run in _runs(url)) >= 4:
                    break
                time.sleep(0.1)
        finally:
            asked = datetime.now(UTC)
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    runs = _runs(url)
    late = [run.source for run in runs if run.started_at > asked + timedelta(milliseconds=200)]
    assert late == [], f"crawls started after SIGTERM: {late}"
    assert len(runs) < SOURCES, "every crawl ran: the test did not catch any queued"
    statuses = [(run.source, run.status, run.error) for run in runs]
    assert {run.status for run in runs} <= {"ok", "interrupted"}, statuses
    assert any(run.status == "interrupted" for run in runs), statuses  # SIGTERM came mid-crawl
    database = Database(url)
    with database.transaction() as session:
        failures = [row.source for row in session.scalars(select(SourceHealth)) if row.consecutive_failures]
    database.close()
    assert failures == []  # a stop is not the source's failure: no operator alert follows
