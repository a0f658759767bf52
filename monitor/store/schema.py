"""The database schema's version: Alembic migrations, ``monitor db upgrade``, the start-up check.

Alembic does the work; its scripts live in ``monitor/migrations`` (shipped in the package,
configured here in code, so no alembic.ini is needed at run time). Every process checks
the schema when it starts (``Database.open`` calls ``check_schema``): a new, empty database is
migrated to the newest revision, one at the newest revision is used, and anything else
is refused with a ``StorageError`` naming the command that fixes it, rather than failing
later on a missing column.

A database created by monitor 0.1, before there were migrations, has tables but no
revision. ``upgrade`` adopts it: missing tables and columns are added (Alembic's
autogenerate comparison says which), then it is stamped with the newest revision.
"""

from __future__ import annotations

import functools
import tempfile
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, DefaultClause, Engine, ForeignKey, create_engine, inspect, text

from monitor.errors import StorageError
from monitor.store.models import Base, UTCDateTime

UPGRADE_COMMAND = "monitor db upgrade"
MIGRATION_LOCK = 0x6D6F64  # PostgreSQL advisory lock class of monitor's migrations ("mod")


@functools.cache
def script_location() -> str:
    """The folder of the migration scripts; copied out when the package is a zipped egg.

    scrapyd runs crawls from the project egg, a zip file, and Alembic reads scripts from a
    real folder only.
    """
    scripts = resources.files("monitor.store") / "migrations"
    if isinstance(scripts, Path) and scripts.is_dir():
        return str(scripts)
    target = Path(tempfile.mkdtemp(prefix="monitor-migrations-"))
    _copy(scripts, target)
    return str(target)


def _copy(source: Traversable, target: Path) -> None:
    target.mkdir(exist_ok=True)
    for item in source.iterdir():
        if item.is_dir():
            if item.name != "__pycache__":
                _copy(item, target / item.name)
        elif not item.name.endswith(".pyc"):
            (target / item.name).write_bytes(item.read_bytes())


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, in code: the package's scripts and an open connection."""
    config = Config()
    config.set_main_option("script_location", script_location())
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def head() -> str:
    """The newest revision of the migration scripts."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise StorageError(f"the migration scripts have {len(heads)} heads; merge them")
    return str(heads[0])


def current(engine: Engine) -> str | None:
    """The database's revision; ``None`` when it has none (new, or made by monitor 0.1)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _our_tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) & set(Base.metadata.tables)


def check_schema(engine: Engine, where: str) -> None:
    """Migrate a new database; accept one at the newest revision; refuse any other.

    ``where`` names the database in messages (its URL without password).
    """
    revision = current(engine)
    if revision == head():
        return
    if revision is None and not _our_tables(engine):
        upgrade(engine)
        return
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if revision is None:
        state = "was created by monitor 0.1 and has no schema revision"
    elif revision in known:
        state = f"has schema revision {revision}, older than this monitor's {head()}"
    else:
        raise StorageError(
            f"database {where} has schema revision {revision}, which this monitor does not know: "
            "it was upgraded by a newer monitor; install that version"
        )
    raise StorageError(f"database {where} {state}: run `{UPGRADE_COMMAND}` (back it up first)")


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the database to ``revision``; returns (before, after). Adopts 0.1 databases."""
    before = current(engine)
    if before is None and _our_tables(engine):
        adopt(engine)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)
    return before, current(engine)


def adopt(engine: Engine) -> list[str]:
    """Give a database made without migrations the newest schema and stamp it; what was added.

    Only additions are made: tables, columns (a scalar Python default becomes the server
    default, so existing rows get it) and indexes. Anything else the comparison finds is
    left as it is.
    """
    added: list[str] = []
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:cls, hashtext(current_schema()))"),
                {"cls": MIGRATION_LOCK},
            )
        context = MigrationContext.configure(connection, opts={"include_object": include_object})
        if context.get_current_revision() is not None:
            return added  # another process adopted it meanwhile
        operations = Operations(context)
        for diff in compare_metadata(context, Base.metadata):
            if not isinstance(diff, tuple):
                continue  # a modification (type, nullability): left as it is
            kind = diff[0]
            if kind == "add_table":
                diff[1].create(connection)
                added.append(f"table {diff[1].name}")
            elif kind == "add_column":
                _, _, table, column = diff
                operations.add_column(table, _addable(column, connection.dialect.name))
                added.append(f"column {table}.{column.name}")
            elif kind == "add_index":
                diff[1].create(connection)
                added.append(f"index {diff[1].name}")
        command.stamp(alembic_config(connection), "head")
    return added


def new_revision(message: str) -> Path:
    """Write the migration from the newest revision to the models as they are; its file.

    For developers, after changing ``monitor.store.models``: Alembic's autogenerate compares the
    models with a scratch SQLite database migrated to the newest revision. Review the file
    (autogenerate cannot see renames), then ``ruff format`` it.
    """
    number = f"{int(head()) + 1:04d}"
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{folder}/scratch.db")
        try:
            with engine.begin() as connection:
                command.upgrade(alembic_config(connection), "head")
            with engine.begin() as connection:
                script = command.revision(
                    alembic_config(connection), message=message, autogenerate=True, rev_id=number
                )
        finally:
            engine.dispose()
    head.cache_clear()
    if script is None or isinstance(script, list):
        raise StorageError("alembic wrote no single revision")
    return Path(script.path)


def render_item(kind: str, obj: Any, context: Any) -> str | Literal[False]:
    """Write ``UTCDateTime`` columns in migrations as the plain type they store."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_object(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
    """Only monitor's own tables: APScheduler keeps its job table in the same database."""
    return kind != "table" or name in Base.metadata.tables


def _addable(column: Column[Any], dialect: str) -> Column[Any]:
    """The column to add to a table with rows: a scalar default moves to the server.

    SQLite cannot add a foreign key to an existing table, so there the column comes without.
    """
    default = column.default
    server_default = None
    nullable = column.nullable
    if column.server_default is not None:
        server_default = column.server_default
    elif default is not None and getattr(default, "is_scalar", False):
        value: Any = getattr(default, "arg", None)
        server_default = DefaultClause(text(repr(value) if isinstance(value, str) else str(int(value))))
    elif not nullable:
        nullable = True  # existing rows have no value for it
    foreign = [] if dialect == "sqlite" else [ForeignKey(key.target_fullname) for key in column.foreign_keys]
    return Column(column.name, column.type, *foreign, nullable=nullable, server_default=server_default)
