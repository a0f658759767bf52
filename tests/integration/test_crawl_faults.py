"""Crawls against the fault site: healthy pages stored, every fault recorded with its reason, in time.

Each test runs the real crawl (``monitor.crawl.runner.crawl_source``: a ``scrapy crawl`` child
process) against ``tests/faultserver.py`` on 127.0.0.1 and reads the database afterwards.
"""

from __future__ import annotations

import resource
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from faultserver import ETAG, FAULTS, HEALTHY, OK_PAGES, RETRY_HUGE, RETRY_YEARS, FaultServer
from sqlalchemy import select

from monitor.cli import main
from monitor.config.model import Config, load_config
from monitor.crawl.outcome import CrawlResult
from monitor.crawl.runner import crawl_if_due, crawl_source
from monitor.demo.smtpsink import SmtpSink
from monitor.store.database import Database
from monitor.store.models import ArticleRow, CrawlFailure, CrawlRun, MatchRow, SourceHealth

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
    with Database.open(config.database_url) as database, database.transaction() as session:
        return {url.removeprefix(site.url) for url in session.scalars(select(ArticleRow.url))}


def failures(config: Config, site: FaultServer) -> dict[str, str]:
    with Database.open(config.database_url) as database, database.transaction() as session:
        rows = session.scalars(select(CrawlFailure))
        return {row.url.removeprefix(site.url): row.reason for row in rows}


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
    with Database.open(config.database_url) as database, database.transaction() as session:
        health = session.get_one(SourceHealth, "down")
        assert (health.consecutive_failures, health.alert_state) == (0, "ok")
        assert health.last_success_at is not None
        assert health.last_error_at is not None


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
    with Database.open(config.database_url) as database, database.transaction() as session:
        assert session.scalars(select(MatchRow.rule)).all() == ["vans"]


def test_a_crawl_stops_at_its_time_limit_and_keeps_what_it_fetched(tmp_path: Path, site: FaultServer) -> None:
    site.feed_paths = ["/news/ok-1.html", *(f"/news/slow.html?n={n}" for n in range(12))]
    config = configure(tmp_path, source("slowly", "feed", f"{site.url}/feed.xml"), crawl="{timeout: 3s}")
    result = crawl(config, "slowly")
    assert result.status == "partial", result
    assert "time limit" in (result.error or "")
    assert 1 <= result.stored < 13
    assert result.seconds < 20


# -- Input that could kill or silence a source (issue 11) ---------------------------------------
HUGE = "{page_timeout: 2s, timeout: 90s, max_page_size: 9MB, retry_after_max: 5s, max_entries: 20}"
PEAK_RSS = 700 * 1024 * 1024  # bytes; the crawl child alone is ~250 MB, LinkExtractor's took 1.2 GB


def details(config: Config, site: FaultServer) -> dict[str, str]:
    with Database.open(config.database_url) as database, database.transaction() as session:
        return {row.url.removeprefix(site.url): row.detail for row in session.scalars(select(CrawlFailure))}


def health_and_run(config: Config, name: str) -> tuple[SourceHealth, CrawlRun]:
    with Database.open(config.database_url) as database, database.transaction() as session:
        health = session.get_one(SourceHealth, name)
        run = session.scalars(select(CrawlRun).where(CrawlRun.source == name)).one()
        session.expunge_all()
        return health, run


def _utc(value: datetime | None) -> datetime:
    assert value is not None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def fetched(site: FaultServer, prefix: str) -> int:
    return sum(hit.path.startswith(prefix) for hit in site.requests)


def child_peak_rss() -> int:
    """The largest peak RSS of any crawl child this test process waited for, in bytes (Linux: KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


@pytest.mark.timeout(180)
def test_a_huge_retry_after_is_cut_and_the_crawl_and_dispatch_go_on(
    tmp_path: Path, site: FaultServer, smtp_sink: SmtpSink
) -> None:
    site.feed_paths = [
        "/news/ok-1.html",
        "/news/retry-huge.html",
        "/news/retry-years.html",
        "/news/ok-2.html",
    ]
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: vw\n    query: Volkswagen\n    channels: [mail]\n", encoding="utf-8")
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"""\
database: sqlite:///monitor.db
rules: ['{rules}']
contact: {CONTACT}
crawl: {CRAWL}
sources:
{source("busy", "feed", f"{site.url}/feed.xml")}
channels:
  mail: ['{smtp_sink.mailto()}']
""",
        encoding="utf-8",
    )
    config = load_config(path, environ={})
    before = datetime.now(UTC)

    result = CliRunner().invoke(main, ["--config", str(path), "crawl"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert "alerts: 1 sent" in result.output  # dispatch ran after the crawl
    assert len(smtp_sink.messages) == 1
    assert stored_paths(config, site) == {"/news/ok-1.html", "/news/ok-2.html"}
    assert failures(config, site) == {
        "/news/retry-huge.html": "retry-after",
        "/news/retry-years.html": "retry-after",
    }
    detail = details(config, site)["/news/retry-huge.html"]
    assert f"asked for {RETRY_HUGE} s" in detail
    assert "honoured 5 s" in detail
    health, run = health_and_run(config, "busy")
    assert run.retry_after == 5
    assert _utc(health.next_due_at) <= datetime.now(UTC) + timedelta(seconds=5)
    assert _utc(health.next_due_at) >= before + timedelta(seconds=5)


@pytest.mark.timeout(180)
def test_a_retry_after_of_years_does_not_park_the_source(tmp_path: Path, site: FaultServer) -> None:
    site.feed_paths = ["/news/ok-1.html", "/news/retry-years.html"]
    config = configure(tmp_path, source("parked", "feed", f"{site.url}/feed.xml"))
    assert crawl(config, "parked").status == "partial"
    health, run = health_and_run(config, "parked")
    assert run.retry_after == 5
    assert _utc(health.next_due_at) <= datetime.now(UTC) + timedelta(seconds=5)  # not 2029
    assert f"asked for {RETRY_YEARS} s" in details(config, site)["/news/retry-years.html"]


@pytest.mark.timeout(180)
def test_a_sitemap_index_of_10000_children_reads_the_newest(tmp_path: Path, site: FaultServer) -> None:
    config = configure(tmp_path, source("index", "sitemap", f"{site.url}/huge-index.xml"), crawl=HUGE)
    result = crawl(config, "index")
    assert "time limit" not in (result.error or ""), result
    assert stored_paths(config, site) == {"/news/ok-1.html", "/news/ok-2.html"}  # from the newest child
    assert len(site.hits("/sitemap-new.xml.gz")) == 1
    assert fetched(site, "/gone-") <= 19  # crawl.max_entries: 20 children in all
    assert child_peak_rss() < PEAK_RSS


@pytest.mark.timeout(180)
def test_a_feed_of_150000_items_reads_the_newest(tmp_path: Path, site: FaultServer) -> None:
    config = configure(tmp_path, source("flood", "feed", f"{site.url}/huge-feed.xml"), crawl=HUGE)
    result = crawl(config, "flood")
    assert "time limit" not in (result.error or ""), result
    assert stored_paths(config, site) == set(OK_PAGES)
    assert fetched(site, "/o") <= 17  # the rest of the 20 newest: undated items, in feed order
    assert child_peak_rss() < PEAK_RSS


@pytest.mark.timeout(180)
def test_a_listing_of_370000_links_reads_the_first(tmp_path: Path, site: FaultServer) -> None:
    config = configure(tmp_path, source("wall", "listing", f"{site.url}/huge-listing.html"), crawl=HUGE)
    result = crawl(config, "wall")
    assert "time limit" not in (result.error or ""), result
    assert stored_paths(config, site) == set(OK_PAGES)
    assert fetched(site, "/o") <= 17
    assert child_peak_rss() < PEAK_RSS


@pytest.mark.timeout(120)
def test_a_backtracking_deny_pattern_cannot_stall_a_listing(tmp_path: Path, site: FaultServer) -> None:
    more = "allow_private: true, deny: ['(a+)+$']"  # Python's re takes hours on /news/aaa...a!
    config = configure(tmp_path, source("evil", "listing", f"{site.url}/evil-listing.html", more))
    result = crawl(config, "evil")
    assert "time limit" not in (result.error or ""), result
    assert stored_paths(config, site) == set(OK_PAGES)
