"""Crawls against the fault site: healthy pages stored, every fault recorded with its reason, in time.

Each test runs the real crawl (``monitor.crawl.crawl_source``: a ``scrapy crawl`` child
process) against ``tests/faultserver.py`` on 127.0.0.1 and reads the database afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from faultserver import ETAG, FAULTS, HEALTHY, FaultServer
from sqlalchemy import select

from monitor.cli import main
from monitor.config import Config, load_config
from monitor.crawl import CrawlResult, crawl_if_due, crawl_source
from monitor.models import ArticleRow, CrawlFailure, MatchRow, SourceHealth
from monitor.smtpsink import SmtpSink
from monitor.store import Database

pytestmark = pytest.mark.slow
CONTACT = "https://example.org/monitor-bot"


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


CRAWL = "{page_timeout: 2s, timeout: 90s, max_page_size: 1MB, retry_after_max: 5s}"


def configure(tmp_path: Path, sources: str, extra: str = "", crawl: str = CRAWL) -> Config:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"""\
database: sqlite:///monitor.db
rules: []
contact: {CONTACT}
crawl: {crawl}
sources:
{sources}
{extra}""",
        encoding="utf-8",
    )
    return load_config(path, environ={})


def source(name: str, kind: str, url: str, more: str = "allow_private: true") -> str:
    return f"  - {{name: {name}, kind: {kind}, url: '{url}', {more}}}\n"


def crawl(config: Config, name: str) -> CrawlResult:
    return crawl_source(config, config.source(name))


def stored_paths(config: Config, site: FaultServer) -> set[str]:
    database = Database(config.database_url)
    try:
        with database.transaction() as session:
            return {url.removeprefix(site.url) for url in session.scalars(select(ArticleRow.url))}
    finally:
        database.close()


def failures(config: Config, site: FaultServer) -> dict[str, str]:
    database = Database(config.database_url)
    try:
        with database.transaction() as session:
            rows = session.scalars(select(CrawlFailure))
            return {row.url.removeprefix(site.url): row.reason for row in rows}
    finally:
        database.close()


def test_the_crawl_stores_healthy_pages_and_records_every_fault(tmp_path: Path, site: FaultServer) -> None:
    config = configure(tmp_path, source("faults", "feed", f"{site.url}/feed.xml"))
    result = crawl(config, "faults")

    assert result.status == "partial", result
    assert result.seconds < 90
    assert stored_paths(config, site) == set(HEALTHY)
    assert failures(config, site) == FAULTS
    assert result.failed_pages == len(FAULTS)
    assert f"{len(FAULTS)} of {len(FAULTS) + len(HEALTHY)} article page(s) failed" in (result.error or "")

    first, second = site.hits("/news/flaky.html")
    assert second.at - first.at >= 0.9  # Retry-After: 1 was honoured
    assert len(site.hits("/news/later.html")) == 1  # Retry-After: 3600 is not waited out
    assert site.hits("/private/secret.html") == []  # robots.txt was obeyed
    assert all(CONTACT in (hit.user_agent or "") for hit in site.requests)


def test_second_crawl_is_conditional_and_skips_known_articles(tmp_path: Path, site: FaultServer) -> None:
    site.feed_paths = ["/news/ok-1.html", "/news/ok-2.html"]
    config = configure(tmp_path, source("clean", "feed", f"{site.url}/feed.xml"))
    assert crawl(config, "clean").status == "ok"
    assert stored_paths(config, site) == {"/news/ok-1.html", "/news/ok-2.html"}
    assert site.hits("/feed.xml")[0].if_none_match is None

    again = crawl(config, "clean")
    assert again.status == "ok", again
    assert again.stored == 0
    assert site.hits("/feed.xml")[1].if_none_match == ETAG  # answered 304
    assert len(site.hits("/news/ok-1.html")) == 1


def test_failed_pages_are_not_hidden_behind_a_304(tmp_path: Path, site: FaultServer) -> None:
    site.feed_paths = ["/news/ok-1.html", "/news/error.html"]
    config = configure(tmp_path, source("half", "feed", f"{site.url}/feed.xml"))
    assert crawl(config, "half").status == "partial"
    crawl(config, "half")
    assert site.hits("/feed.xml")[1].if_none_match is None  # no validators kept after failures
    assert len(site.hits("/news/error.html")) == 6  # tried again (three attempts each time)


def test_sitemap_index_gzip_child_and_lastmod(tmp_path: Path, site: FaultServer) -> None:
    config = configure(tmp_path, source("maps", "sitemap", f"{site.url}/sitemap-index.xml"))
    assert crawl(config, "maps").status == "ok"
    assert stored_paths(config, site) == {"/news/ok-1.html", "/news/ok-2.html", "/news/ok-3.html"}
    crawl(config, "maps")
    assert len(site.hits("/sitemap-old.xml")) == 1  # unchanged since the last complete crawl
    assert len(site.hits("/sitemap-new.xml.gz")) == 2


def test_max_age_skips_old_sitemap_entries(tmp_path: Path, site: FaultServer) -> None:
    url = f"{site.url}/sitemap-new.xml.gz"
    config = configure(tmp_path, source("recent", "sitemap", url, "allow_private: true, max_age: 2d"))
    assert crawl(config, "recent").status == "ok"
    assert stored_paths(config, site) == {"/news/ok-1.html"}  # ok-2 has lastmod 2001


def test_xml_bomb_feed_is_refused(tmp_path: Path, site: FaultServer) -> None:
    config = configure(tmp_path, source("bomb", "feed", f"{site.url}/bomb-feed.xml"))
    result = crawl(config, "bomb")
    assert result.status == "failed"
    assert "unsafe-xml" in (result.error or "")
    assert site.hits("/news/ok-1.html") == []


def test_loopback_is_refused_without_allow_private(tmp_path: Path, site: FaultServer) -> None:
    config = configure(tmp_path, source("inside", "feed", f"{site.url}/feed.xml", "max_age: 1d"))
    result = crawl(config, "inside")
    assert result.status == "failed"
    assert "refused" in (result.error or "")
    assert "allow_private" in (result.error or "")
    assert site.requests == []  # not even robots.txt


def test_robots_txt_unavailable_fails_the_source_and_the_operator_is_told(
    tmp_path: Path, site: FaultServer, smtp_sink: SmtpSink
) -> None:
    site.robots = "503"
    site.feed_paths = ["/news/ok-1.html"]
    operator = f"operator: {{channel: ops, after_failures: 2}}\nchannels:\n  ops: ['{smtp_sink.mailto()}']\n"
    config = configure(tmp_path, source("down", "feed", f"{site.url}/feed.xml"), operator)

    first = crawl(config, "down")
    assert first.status == "failed"
    assert "robots-unavailable" in (first.error or "")
    assert "HTTP 503" in (first.error or "")
    assert site.hits("/feed.xml") == []  # nothing is fetched while robots.txt is unreachable
    assert smtp_sink.messages == []
    crawl(config, "down")
    assert [message["Subject"] for message in smtp_sink.messages] == ["[monitor] source down is failing"]

    site.robots = "404"  # no robots.txt at all: everything is allowed
    assert crawl(config, "down").status == "ok"
    subjects = [message["Subject"] for message in smtp_sink.messages]
    assert subjects == ["[monitor] source down is failing", "[monitor] source down has recovered"]
    database = Database(config.database_url)
    try:
        with database.transaction() as session:
            health = session.get_one(SourceHealth, "down")
            assert (health.consecutive_failures, health.alert_state) == (0, "ok")
            assert health.last_success_at is not None
            assert health.last_error_at is not None
    finally:
        database.close()


def test_a_hanging_site_cannot_hold_the_crawl_past_its_timeout(tmp_path: Path, site: FaultServer) -> None:
    site.robots = "hang"
    settings = "{page_timeout: 60s, timeout: 3s}"
    config = configure(tmp_path, source("stuck", "feed", f"{site.url}/feed.xml"), crawl=settings)
    result = crawl_source(config, config.source("stuck"), timeout=20)  # the parent's hard limit
    assert result.status == "failed"
    assert "timed out after 20 s" in (result.error or "")
    assert result.seconds < 25


def test_status_shows_each_source_and_adaptive_polling_waits(tmp_path: Path, site: FaultServer) -> None:
    site.feed_paths = ["/news/ok-1.html", "/news/error.html"]
    sources = source(
        "mixed", "feed", f"{site.url}/feed.xml", "allow_private: true, min_interval: 5m, max_interval: 2h"
    )
    sources += source("bomb", "feed", f"{site.url}/bomb-feed.xml")
    sources += source("never", "feed", f"{site.url}/feed.xml")
    extra = "operator: {channel: ops, after_failures: 1}\nchannels:\n  ops: ['${NO_OPS_URL:-}']\n"
    config = configure(tmp_path, sources, extra)
    assert crawl(config, "mixed").status == "partial"
    assert crawl(config, "bomb").status == "failed"
    assert crawl_if_due(config, config.source("mixed")) is None  # not due for 5 minutes

    result = CliRunner().invoke(main, ["--config", str(config.path), "status"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = {
        line.split()[0]: line for line in result.stdout.splitlines() if line and not line.startswith(" ")
    }
    assert lines["mixed"].split()[:3] == ["mixed", "feed", "ok"]
    assert "(every 5 min)" in lines["mixed"]  # fewer than five articles: the shortest interval
    assert lines["bomb"].split()[:3] == ["bomb", "feed", "failing"]
    assert lines["never"].split()[:3] == ["never", "feed", "new"]
    assert "1 of 2 article page(s) failed: 1 http-500" in result.stdout
    assert "unsafe-xml" in result.stdout


@pytest.mark.parametrize("workers", [1, 2])
def test_worker_processes_parse_match_and_store(tmp_path: Path, site: FaultServer, workers: int) -> None:
    site.feed_paths = ["/news/ok-1.html", "/news/ok-2.html", "/news/latin1.html", "/news/error.html"]
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - name: vans\n    query: Renault AND vans\n    channels: [log]\n", encoding="utf-8"
    )
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"""\
rules: ['{rules}']
crawl: {{page_timeout: 2s, workers: {workers}}}
sources:
{source("pooled", "feed", f"{site.url}/feed.xml")}
channels:
  log: ['${{NO_URL:-}}']
""",
        encoding="utf-8",
    )
    config = load_config(path, environ={})
    result = crawl(config, "pooled")
    assert result.status == "partial", result
    assert result.stored == 3
    assert stored_paths(config, site) == {"/news/ok-1.html", "/news/ok-2.html", "/news/latin1.html"}
    database = Database(config.database_url)
    try:
        with database.transaction() as session:
            assert session.scalars(select(MatchRow.rule)).all() == ["vans"]
    finally:
        database.close()


def test_a_crawl_stops_at_its_time_limit_and_keeps_what_it_fetched(tmp_path: Path, site: FaultServer) -> None:
    site.feed_paths = ["/news/ok-1.html", *(f"/news/slow.html?n={n}" for n in range(12))]
    config = configure(tmp_path, source("slowly", "feed", f"{site.url}/feed.xml"), crawl="{timeout: 3s}")
    result = crawl(config, "slowly")
    assert result.status == "partial", result
    assert "time limit" in (result.error or "")
    assert 1 <= result.stored < 13
    assert result.seconds < 20
