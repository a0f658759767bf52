"""A site redesign that breaks extraction: `monitor status` shows it, the operator hears once.

The source's history is stored first (60 complete articles, then 20 without a date, as a
redesign would leave them); then real crawls of the fault site run, and the operator
channel is a real SMTP server on loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from faultserver import FaultServer

from monitor.article import Article
from monitor.cli import main
from monitor.config.model import Config, load_config
from monitor.crawl.runner import crawl_source
from monitor.demo.smtpsink import SmtpSink
from monitor.store.database import Database, save_article
from monitor.store.models import SourceHealth

pytestmark = pytest.mark.slow
DROP = "[monitor] source wire: extraction quality dropped (no date)"
BACK = "[monitor] source wire: extraction is back to normal"


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def configure(tmp_path: Path, site: FaultServer, smtp_sink: SmtpSink) -> Config:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"""\
database: sqlite:///monitor.db
rules: []
crawl: {{page_timeout: 2s, timeout: 60s}}
sources:
  - {{name: wire, kind: feed, url: '{site.url}/feed.xml', allow_private: true}}
operator: {{channel: ops}}
channels:
  ops: ['{smtp_sink.mailto()}']
""",
        encoding="utf-8",
    )
    return load_config(path, environ={})


def store_history(config: Config, dated: list[bool], until: timedelta = timedelta(hours=2)) -> None:
    """Store one article per flag, oldest first, fetched a minute apart up to ``until`` ago."""
    now = datetime.now(UTC) - until
    with Database.open(config.database_url) as database, database.transaction() as session:
        for index, has_date in enumerate(dated):
            fetched = now - timedelta(minutes=len(dated) - index)
            article = Article(
                url=f"https://wire.example/{now.timestamp()}/{index}",
                canonical_url=f"https://wire.example/{now.timestamp()}/{index}",
                title=f"Story {index}",
                body=f"Story number {index} about cars and vans and their makers. " * 5,
                authors=("A. Writer",),
                published_at=fetched - timedelta(hours=1) if has_date else None,
                source="wire",
            )
            save_article(session, article, fetched)


def subjects(smtp_sink: SmtpSink) -> list[str]:
    return [str(message["Subject"]) for message in smtp_sink.messages]


def test_a_redesign_is_shown_in_status_and_told_once_then_its_recovery(
    tmp_path: Path, site: FaultServer, smtp_sink: SmtpSink
) -> None:
    site.feed_paths = []  # the crawls themselves add nothing: the stored history decides
    config = configure(tmp_path, site, smtp_sink)
    store_history(config, [True] * 60 + [False] * 20)

    assert crawl_source(config, config.source("wire")).status == "ok"
    assert subjects(smtp_sink) == [DROP]
    text = smtp_sink.messages[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Of the newest 20 pages of wire, 100% without a date" in text
    assert "of the 60 before them, 0% without a date" in text

    result = CliRunner().invoke(main, ["--config", str(config.path), "status"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    header, line = result.stdout.splitlines()[:2]
    assert "NO BODY/DATE/AUTHOR" in header
    assert "  0%/ 40%/  0%" in line  # of the newest 50 pages, 20 have no date
    assert "extraction degraded (operator told): 40% without date" in result.stdout

    assert crawl_source(config, config.source("wire")).status == "ok"
    assert subjects(smtp_sink) == [DROP]  # still degraded: no second message

    store_history(config, [True] * 20, until=timedelta(0))  # the site is fixed: new articles have dates again
    assert crawl_source(config, config.source("wire")).status == "ok"
    assert subjects(smtp_sink) == [DROP, BACK]
    with Database.open(config.database_url) as database, database.transaction() as session:
        assert session.get_one(SourceHealth, "wire").quality_state == "ok"


def test_a_source_that_never_had_bylines_is_not_reported(
    tmp_path: Path, site: FaultServer, smtp_sink: SmtpSink
) -> None:
    site.feed_paths = []
    config = configure(tmp_path, site, smtp_sink)
    store_history(config, [False] * 80)  # a wire without dates, from the start
    assert crawl_source(config, config.source("wire")).status == "ok"
    assert subjects(smtp_sink) == []
