"""The in-process crawl engine: each poll a crawler of one long-lived Scrapy engine (``CrawlEngine``)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from monitor.config.model import Config, load_config
from monitor.crawl.engine import CrawlEngine
from monitor.demo.server import SiteServer
from monitor.store.database import Database
from monitor.store.models import CrawlRun, SourceHealth

ROOT = Path(__file__).parents[2]


def _config(tmp_path: Path, sources: str, *, rules: str = f"['{ROOT / 'rules'}']", crawl: str = "") -> Config:
    """A migrated SQLite database and a config with ``sources`` (YAML list items)."""
    path = tmp_path / "monitor.yaml"
    crawl_line = f"crawl: {crawl}\n" if crawl else ""
    path.write_text(
        f"database: sqlite:///{tmp_path / 'monitor.db'}\nrules: {rules}\n{crawl_line}sources:\n{sources}",
        encoding="utf-8",
    )
    config = load_config(path, environ={})
    Database.open(config.database_url).close()
    return config


def test_polls_run_in_one_engine_with_their_own_runs_and_health(
    tmp_path: Path, demo_site: SiteServer
) -> None:
    config = _config(
        tmp_path,
        f"""\
  - {{name: feed, kind: feed, url: '{demo_site.url}/autoguide/feed.xml', allow_private: true}}
  - {{name: down, kind: feed, url: 'http://127.0.0.1:9/feed.xml', allow_private: true}}
""",
        crawl="{page_timeout: 5s}",
    )
    engine = CrawlEngine(config)
    try:
        first = {result.source: result for result in engine.crawl(config.sources)}
        second = engine.crawl([config.source("feed")])[0]
        twice = [engine.submit(config.source("feed")), engine.submit(config.source("feed"))]
        statuses = sorted(future.result(timeout=60).status for future in twice)
    finally:
        engine.stop()
    assert first["feed"].status == "ok", first["feed"]
    assert first["feed"].stored >= 1
    assert first["down"].status == "failed"  # one source's fault is its own
    assert "robots" in (first["down"].error or "")
    assert second.status == "ok"
    assert second.stored == 0  # nothing new the second time
    assert engine.robots.hits >= 1  # robots.txt came from the cache, not a second fetch
    assert statuses == ["ok", "skipped"]  # one poll of a source at a time
    database = Database(config.database_url)
    with database.transaction() as session:
        runs = list(session.scalars(select(CrawlRun)))
        health = {row.source: row for row in session.scalars(select(SourceHealth))}
    database.close()
    assert {run.status for run in runs} <= {"ok", "failed"}
    assert all(run.finished_at is not None for run in runs)
    assert health["down"].consecutive_failures == 1
    assert health["feed"].consecutive_failures == 0


def test_a_poll_asked_for_if_due_is_skipped_without_a_run_while_the_source_is_not_due(
    tmp_path: Path, demo_site: SiteServer
) -> None:
    config = _config(
        tmp_path,
        f"  - {{name: feed, kind: feed, url: '{demo_site.url}/autoguide/feed.xml', allow_private: true}}\n",
    )
    source = config.source("feed")
    database = Database(config.database_url)
    engine = CrawlEngine(config)
    try:
        assert engine.submit(source, if_due=True).result(timeout=60).status == "ok"  # no health yet: due
        with database.transaction() as session:
            session.get_one(SourceHealth, "feed").next_due_at = datetime.now(UTC) + timedelta(hours=1)
        waiting = engine.submit(source, if_due=True).result(timeout=60)
        forced = engine.submit(source).result(timeout=60)  # a poll asked for without if_due runs
    finally:
        engine.stop()
    with database.transaction() as session:
        runs = list(session.scalars(select(CrawlRun)))
    database.close()
    assert (waiting.status, waiting.error) == ("skipped", "not due yet")
    assert forced.status == "ok"
    assert len(runs) == 2  # the skipped poll opened no run


def test_one_poll_per_host_at_a_time(tmp_path: Path, demo_site: SiteServer) -> None:
    config = _config(
        tmp_path,
        f"""\
  - {{name: feed, kind: feed, url: '{demo_site.url}/autoguide/feed.xml', allow_private: true}}
  - {{name: sitemap, kind: sitemap, url: '{demo_site.url}/autoguide/news-sitemap.xml', allow_private: true}}
  - {{name: listing, kind: listing, url: '{demo_site.url}/motorwire/industry/', allow_private: true,
      follow: ['/motorwire/industry/\\d{{4}}/\\d{{2}}/[^/]+/$']}}
""",
        rules="[]",
        crawl="{page_timeout: 5s}",
    )
    engine = CrawlEngine(config)
    try:
        results = engine.crawl(config.sources)
    finally:
        engine.stop()
    assert all(result.ok for result in results), results
    database = Database(config.database_url)
    with database.transaction() as session:
        runs = sorted(session.scalars(select(CrawlRun)), key=lambda run: run.started_at)
    database.close()
    assert len(runs) == 3
    # The one demo host: the polls took turns. A run's end is written just after its crawl
    # ended and the next poll started (a few ms); each crawl here takes far longer than that.
    settled = timedelta(milliseconds=50)
    for earlier, later in itertools.pairwise(runs):
        assert earlier.finished_at is not None
        assert later.started_at >= earlier.finished_at - settled, (earlier.source, later.source)
