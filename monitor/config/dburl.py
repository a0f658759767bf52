"""Database URLs as the user writes them: which database they name and which driver opens it.

SQLAlchemy's ``make_url`` does the parsing; this module only adds monitor's defaults (the
psycopg 3 driver for a plain ``postgresql://``) and answers the questions the store, the
locks and the config ask of a URL, so they agree: ``sqlite+pysqlite:///f.db`` is as much
SQLite as ``sqlite:///f.db``, and ``sqlite:///:memory:`` names no file.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError


def driver_url(url: str) -> str:
    """``url`` with the psycopg 3 driver named when it says plain ``postgresql://``."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def backend(url: str) -> str | None:
    """The kind of database ``url`` names, whatever its driver (``sqlite``); ``None`` if unparsable."""
    parsed = _parsed(url)
    return parsed.get_backend_name() if parsed is not None else None


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names a SQLite database, with or without a driver (``sqlite+pysqlite://``)."""
    return backend(url) == "sqlite"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL as SQLite opens it (relative to the cwd when relative).

    ``None`` for an in-memory database (``sqlite://``, ``sqlite:///:memory:``,
    ``?mode=memory``) and for any URL that is not SQLite.
    """
    parsed = _parsed(url)
    if parsed is None or parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:" or parsed.query.get("mode") == "memory":
        return None
    return Path(parsed.database)


def with_sqlite_file(url: str, path: Path) -> str:
    """The SQLite ``url`` naming the file ``path`` instead, its driver and options kept."""
    parsed = make_url(url)
    return parsed.set(database=str(path)).render_as_string(hide_password=False)


def _parsed(url: str) -> URL | None:
    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        return None
