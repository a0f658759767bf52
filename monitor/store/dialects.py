"""The two databases monitor supports, SQLite and PostgreSQL: what differs between them.

Kept in one place so the store, the outbox, the locks and the scheduler's job store agree
on the driver (psycopg 3 for a plain ``postgresql://`` URL) and on conflict-aware inserts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor.errors import StorageError


def dialect_insert(session: Session, model: Any) -> Any:
    """A dialect-specific INSERT that supports ``on_conflict_do_nothing``."""
    return conflict_insert(session.get_bind().dialect.name, model)


def conflict_insert(dialect: str, table: Any) -> Any:
    """An INSERT into ``table`` (a model or a Core table) for ``dialect``, with ``on_conflict_do_nothing``."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise StorageError(f"unsupported database dialect {dialect!r}; use SQLite or PostgreSQL")
