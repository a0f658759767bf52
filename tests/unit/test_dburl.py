"""Database URLs: which are SQLite, which file they name, and the driver monitor adds."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from monitor.config.dburl import backend, driver_url, is_sqlite, sqlite_file, with_sqlite_file


@pytest.mark.parametrize(
    ("url", "sqlite", "file"),
    [
        ("sqlite:///monitor.db", True, Path("monitor.db")),
        ("sqlite:////srv/monitor/monitor.db", True, Path("/srv/monitor/monitor.db")),
        ("sqlite+pysqlite:////srv/monitor.db", True, Path("/srv/monitor.db")),
        ("sqlite:///a%20b.db", True, Path("a b.db")),  # as SQLAlchemy hands it to SQLite
        ("sqlite:///:memory:", True, None),
        ("sqlite+pysqlite:///:memory:", True, None),
        ("sqlite://", True, None),
        ("sqlite:///file:x?mode=memory&uri=true", True, None),
        ("postgresql://monitor@db/monitor", False, None),
        ("postgresql+psycopg://monitor@db/sqlite", False, None),
        ("sqlitefoo:///x.db", False, None),
        ("not a url", False, None),
    ],
)
def test_sqlite_urls_and_their_files(url: str, sqlite: bool, file: Path | None) -> None:
    assert is_sqlite(url) is sqlite
    assert sqlite_file(url) == file


def test_backend_ignores_the_driver() -> None:
    assert backend("postgresql+psycopg://h/d") == backend("postgresql://h/d") == "postgresql"
    assert backend("::") is None


def test_driver_url_names_psycopg_for_plain_postgresql() -> None:
    assert driver_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert driver_url("postgresql+asyncpg://u@h/d") == "postgresql+asyncpg://u@h/d"
    assert driver_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.parametrize("name", ["monitor.db", "a b.db", "50%.db", "q?x.db"])
def test_with_sqlite_file_round_trips(name: str) -> None:
    url = with_sqlite_file("sqlite+pysqlite:///old.db?timeout=5", Path("/srv") / name)
    assert sqlite_file(url) == Path("/srv") / name
    assert make_url(url).drivername == "sqlite+pysqlite"
    assert dict(make_url(url).query) == {"timeout": "5"}


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("sqlite:///data/m.db", "sqlite:///{base}/data/m.db"),
        ("sqlite+pysqlite:///data/m.db", "sqlite+pysqlite:///{base}/data/m.db"),
        ("sqlite:////srv/m.db", "sqlite:////srv/m.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql://monitor@db/monitor", "postgresql://monitor@db/monitor"),
    ],
)
def test_config_resolves_a_relative_sqlite_file_beside_the_config(
    tmp_path: Path, written: str, expected: str
) -> None:
    from monitor.config.model import load_config

    path = tmp_path / "monitor.yaml"
    path.write_text(f"database: '{written}'\n", encoding="utf-8")
    assert load_config(path, environ={}).database_url == expected.format(base=tmp_path.resolve())
