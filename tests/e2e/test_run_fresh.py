"""`monitor run` on a database that does not exist yet: migrated once, before any job starts.

Crawl, dispatch and rule-check jobs all start at once on a fresh database. Alembic is not
thread-safe, so if each job migrated the schema from its own thread the first jobs failed
(``'NoneType' object has no attribute 'run_migrations'``, ``KeyError: 'config'``, or on
SQLite "database is locked") and the first crawl was lost for a whole interval.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from monitorproc import start_monitor
from sqlalchemy import create_engine, text

from monitor.demo.server import SiteServer, site_root
from monitor.demo.smtpsink import SmtpSink

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]
FEEDS = ["autoguide/feed.xml", "autoguide/news-sitemap.xml", "motorwire/industry/"]


def _config(tmp_path: Path, site: SiteServer, database_url: str, smtp_sink: SmtpSink) -> Path:
    kinds = {"autoguide/feed.xml": "feed", "autoguide/news-sitemap.xml": "sitemap"}
    sources = "".join(
        f"""
  - name: source-{index}
    kind: {kinds.get(path, "listing")}
    url: {site.url}/{path}
    schedule: {{every: 1h, jitter: 0}}
    allow_private: true"""
        + ("\n    follow: ['/motorwire/industry/2010/']" if path.endswith("/") else "")
        for index, path in enumerate(FEEDS)
    )
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"""\
database: {database_url}
rules: [{ROOT / "rules"}]
sources:{sources}
channels:
  alerts: ['{smtp_sink.mailto()}']
dispatch: {{every: 1s}}
""",
        encoding="utf-8",
    )
    return config


def _run_until_alert(config: Path, tmp_path: Path, smtp_sink: SmtpSink) -> tuple[int, str]:
    process = start_monitor(config, "run", cache=tmp_path / "cache")
    try:
        deadline = time.monotonic() + 90
        while not smtp_sink.messages and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        time.sleep(2)  # the other first crawls and the rule check finish too
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_first_start_on_a_fresh_database_runs_every_first_job(
    store: str, tmp_path: Path, smtp_sink: SmtpSink, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    if store == "postgresql":
        url = request.getfixturevalue("postgres_url")
    with SiteServer(site_root()) as site:
        config = _config(tmp_path, site, url, smtp_sink)
        returncode, stderr = _run_until_alert(config, tmp_path, smtp_sink)
    assert returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert "raised an exception" not in stderr, stderr  # APScheduler's report of a failed job
    assert "failed" not in stderr, stderr
    assert len(smtp_sink.messages) == 1, stderr
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as connection:
        statuses = connection.execute(text("SELECT source, status FROM crawl_runs")).all()
    engine.dispose()
    assert sorted(source for source, _ in statuses) == ["source-0", "source-1", "source-2"], statuses
    assert {status for _, status in statuses} == {"ok"}, statuses
