"""Alembic's environment: monitor's models, on the connection ``monitor.store.schema`` hands over.

Run only through ``monitor.store.schema`` (``monitor db upgrade``, or ``Database`` creating a new
database), which puts an open connection in ``config.attributes["connection"]``. On
PostgreSQL the migration transaction first takes an advisory lock, so processes starting
together on a new database migrate it once; on SQLite ``BEGIN IMMEDIATE`` does the same.
SQLite runs in batch mode, since it cannot alter most of a table in place.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from monitor.store.models import Base
from monitor.store.schema import MIGRATION_LOCK, include_object, render_item


def run() -> None:
    """Run the migrations on the connection given by ``monitor.store.schema``."""
    connection: Connection | None = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with `monitor db upgrade`, not the alembic command")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:cls, hashtext(current_schema()))"),
                {"cls": MIGRATION_LOCK},
            )
        context.run_migrations()


run()
