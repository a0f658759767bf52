"""Crawls of hostile pages: no page the store cannot hold loses the healthy ones around it.

Each test runs the real crawl (``monitor.crawl.runner.crawl_source``: a ``scrapy crawl`` child
process, with ``crawl.workers`` 0 or 1) against ``tests/hostilepages.py`` on 127.0.0.1,
on SQLite and on PostgreSQL, and reads the database afterwards. Before the fix a lone
surrogate in JSON-LD lost its page without a failure row (and with one worker, every page
after it), PostgreSQL refused a NUL and a URL over 2,048 characters, and an empty body
was stored as an article; a feed linking ``?cmp=rss`` made every crawl download every page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hostilepages import HOSTILE, LONG_PATH, HostilePages
from sqlalchemy import select

from monitor.cli import main
from monitor.config.model import Config, load_config
from monitor.crawl.outcome import CrawlResult
from monitor.crawl.runner import crawl_source
from monitor.store.database import Database
from monitor.store.models import ArticleRow, CrawlFailure, MatchRow

pytestmark = pytest.mark.slow
HEALTHY = [f"/news/ok-{n}.html" for n in range(1, 8)]
STORED_HOSTILE = {path for path, reason in HOSTILE.items() if reason is None}
FAILED_HOSTILE = {path: reason for path, reason in HOSTILE.items() if reason is not None}


@pytest.fixture
def site() -> Iterator[HostilePages]:
    with HostilePages() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    return str(request.getfixturevalue("postgres_url"))


def configure(tmp_path: Path, url: str, site: HostilePages, workers: int) -> Config:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: makers\n    query: Renault OR Nissan\n    channels: [log]\n")
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"""\
database: '{url}'
rules: ['{rules}']
crawl: {{page_timeout: 5s, timeout: 120s, workers: {workers}}}
sources:
  - {{name: hostile, kind: feed, url: '{site.url}/feed.xml', allow_private: true}}
channels:
  log: ['${{NO_URL:-}}']
""",
        encoding="utf-8",
    )
    return load_config(path, environ={})


def crawl(config: Config) -> CrawlResult:
    return crawl_source(config, config.source("hostile"))


def stored(config: Config, site: HostilePages) -> dict[str, ArticleRow]:
    with Database.open(config.database_url) as database, database.transaction() as session:
        rows = session.scalars(select(ArticleRow)).all()
        return {row.url.removeprefix(site.url).split("?", 1)[0]: row for row in rows}


def failures(config: Config, site: HostilePages) -> dict[str, str]:
    with Database.open(config.database_url) as database, database.transaction() as session:
        rows = session.scalars(select(CrawlFailure)).all()
        return {row.url: row.reason for row in rows}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("workers", [0, 1])
def test_hostile_pages_are_stored_clean_or_recorded_and_every_healthy_page_is_stored(
    tmp_path: Path, site: HostilePages, database_url: str, workers: int
) -> None:
    hostile = list(HOSTILE)
    # Healthy pages before, between and after the hostile ones.
    site.feed_paths = [path for pair in zip(HEALTHY, [*hostile, ""], strict=False) for path in pair if path]
    config = configure(tmp_path, database_url, site, workers)

    result = crawl(config)

    rows = stored(config, site)
    assert set(rows) == set(HEALTHY) | STORED_HOSTILE, result
    # A failure's URL is kept to the 2,048 characters a stored URL may have.
    assert failures(config, site) == {
        (site.url + path)[:2048]: reason for path, reason in FAILED_HOSTILE.items()
    }
    assert result.status == "partial", result
    assert result.stored == len(HEALTHY) + len(STORED_HOSTILE)
    assert result.failed_pages == len(FAILED_HOSTILE)
    assert "2 empty-body" in (result.error or "")
    assert "1 url-too-long" in (result.error or "")

    assert rows["/news/surrogate.html"].title == "\ufffd Renault and Daimler team up"
    assert rows["/news/nul.html"].title == "Nissan vans"
    assert "\x00" not in rows["/news/nul.html"].body
    # A declared canonical URL no row can hold: the page's own address identifies it.
    assert rows["/news/long-canonical.html"].canonical_url == f"{site.url}/news/long-canonical.html"
    with Database.open(config.database_url) as database, database.transaction() as session:
        snippets = {
            row.article.url.removeprefix(site.url): row.snippet for row in session.scalars(select(MatchRow))
        }
    assert "\ufffd" in snippets["/news/surrogate.html"] or "**Renault**" in snippets["/news/surrogate.html"]
    assert LONG_PATH not in snippets


@pytest.mark.timeout(120)
def test_empty_bodies_show_in_monitor_status(tmp_path: Path, site: HostilePages) -> None:
    site.feed_paths = ["/news/ok-1.html", "/news/empty.html"]
    config = configure(tmp_path, f"sqlite:///{tmp_path / 'monitor.db'}", site, 0)
    assert crawl(config).status == "partial"
    assert failures(config, site) == {f"{site.url}/news/empty.html": "empty-body"}
    result = CliRunner().invoke(main, ["--config", str(config.path), "status"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "1 of 2 article page(s) failed: 1 empty-body" in result.stdout


@pytest.mark.timeout(240)
@pytest.mark.parametrize("workers", [0, 1])
def test_fetched_urls_are_remembered_when_the_canonical_differs(
    tmp_path: Path, site: HostilePages, database_url: str, workers: int
) -> None:
    links = [f"/news/ok-{n}.html?cmp=rss" for n in range(1, 6)]
    site.feed_paths = [*links, "/go/ok-6"]  # the last redirects to /news/ok-6.html?cmp=rss
    config = configure(tmp_path, database_url, site, workers)
    first = crawl(config)
    assert first.status == "ok", first
    assert first.stored == 6
    assert site.article_hits() == 6
    assert {row.canonical_url.removeprefix(site.url) for row in stored(config, site).values()} == {
        f"/news/ok-{n}.html" for n in range(1, 7)
    }

    again = crawl(config)
    assert again.status == "ok", again
    assert site.article_hits() == 6  # no article page downloaded again
    assert site.hits("/go/ok-6") == 1

    site.feed_paths.append("/news/ok-7.html?r=rss")
    third = crawl(config)
    assert third.stored == 1
    assert site.article_hits() == 7  # the new item, and only it
    assert site.hits("/news/ok-7.html") == 1
