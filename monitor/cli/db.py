"""Commands about the database schema: ``db upgrade`` and ``db current`` (Alembic underneath)."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import MonitorError
from monitor.store.database import Database
from monitor.store.schema import current, head, new_revision, upgrade


def register(main: click.Group) -> None:
    """Attach this module's commands to the top-level group."""
    main.add_command(db)


@click.group()
def db() -> None:
    """The database schema: see its revision, migrate it (Alembic)."""


def _open(state: Any) -> Database:
    config = state.config()
    return Database(config.database_url)  # not Database.open: these commands fix the schema


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="The revision to migrate to.")
@click.pass_obj
def upgrade_command(state: Any, revision: str) -> None:
    """Migrate the database to the newest schema (back it up first).

    Stop the scheduler and the workers before, start them after: they refuse to run on
    an outdated schema. A database from monitor 0.1, which has no revision, is adopted:
    its missing tables and columns are added and it is stamped.

    \b
    Example:
      $ monitor db upgrade
      database upgraded: none -> 0001
    """
    database = _open(state)
    try:
        before, after = upgrade(database.engine, revision)
    except (MonitorError, SQLAlchemyError) as exc:
        raise click.ClickException(f"upgrade failed: {exc}") from None
    finally:
        database.close()
    if before == after:
        click.echo(f"database already at {after}")
    else:
        click.echo(f"database upgraded: {before or 'none'} -> {after}")


@db.command("current")
@click.pass_obj
def current_command(state: Any) -> None:
    """Show the database's schema revision and whether it is the newest.

    \b
    Example:
      $ monitor db current
      0001 (head: 0001): up to date
    """
    database = _open(state)
    try:
        revision = current(database.engine)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot read the schema revision: {exc}") from None
    finally:
        database.close()
    newest = head()
    if revision == newest:
        click.echo(f"{revision} (head: {newest}): up to date")
    else:
        click.echo(f"{revision or 'none'} (head: {newest}): run `monitor db upgrade`")
        raise SystemExit(1)


@db.command("revision")
@click.argument("message")
def revision_command(message: str) -> None:
    """For developers: write the migration for what changed in monitor/store/models.py.

    Alembic compares the models with a scratch database at the newest revision and writes
    monitor/store/migrations/versions/NNNN_MESSAGE.py. Review it (a rename looks like a drop and
    an add), run `ruff format` on it, and commit it with the model change.

    \b
    Example:
      $ monitor db revision "source notes column"
      wrote monitor/store/migrations/versions/0002_source_notes_column.py
    """
    try:
        path = new_revision(message)
    except (MonitorError, SQLAlchemyError) as exc:
        raise click.ClickException(f"no revision written: {exc}") from None
    click.echo(f"wrote {path}")
