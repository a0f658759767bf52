"""An absurd duration is refused before a crawl starts (issue 11, section 2).

``crawl: {timeout: 999999999999999d}`` used to pass ``monitor.yaml``, open a crawl run row,
start the child, and die in the parent's wait with ``OverflowError``: the row stayed
``running`` for good. Now the config is refused up front, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from monitor.cli import main
from monitor.store.database import Database
from monitor.store.models import CrawlRun


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (the crawl must never get that far)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.mark.timeout(120)
def test_an_absurd_crawl_timeout_leaves_no_run_row_running(tmp_path: Path, database_url: str) -> None:
    Database.open(database_url).close()  # the schema exists, as after any earlier run
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"database: '{database_url}'\n"
        "rules: []\n"
        "crawl:\n"
        "  timeout: 999999999999999d\n"
        "sources:\n"
        f"  - {{name: wire, kind: feed, url: 'http://127.0.0.1:{closed_port()}/feed',"
        " allow_private: true}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["--config", str(config), "crawl", "--no-dispatch"])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.stderr.replace(str(tmp_path) + "/", "") == (
        "Error: monitor.yaml:4:12: timeout: '999999999999999d' is longer than the maximum, 1w\n"
    )
    with Database.open(database_url) as database, database.transaction() as session:
        runs = session.scalars(select(CrawlRun)).all()
    assert [(run.source, run.status) for run in runs] == []
