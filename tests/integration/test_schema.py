"""Alembic migrations on SQLite and PostgreSQL: new database, upgrade, refusal, models agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import inspect, text

from monitor.cli import main
from monitor.errors import StorageError
from monitor.store.database import Database
from monitor.store.models import Base
from monitor.store.schema import alembic_config, current, head, include_object, upgrade

FIRST = "0001"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    value: str = request.getfixturevalue("postgres_url")
    return value


def _differences(database: Database) -> list[object]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        return list(compare_metadata(context, Base.metadata))


def test_a_new_database_is_created_at_the_newest_revision(url: str) -> None:
    with Database.open(url) as database:
        assert current(database.engine) == head()
        assert set(Base.metadata.tables) <= set(inspect(database.engine).get_table_names())
    Database.open(url).close()  # and opened again without complaint


def test_a_database_is_migrated_only_when_asked(url: str) -> None:
    with Database(url) as database:  # making one changes nothing
        assert current(database.engine) is None
        database.check_schema()  # the start-up step, explicit
        assert current(database.engine) == head()
        database.check_schema()  # and harmless when the schema is current


def test_models_and_migrations_agree(url: str) -> None:
    """Alembic's autogenerate comparison finds nothing: every model change has its migration."""
    with Database.open(url) as database:
        differences = _differences(database)
    assert differences == [], "models changed without a migration: run `monitor db revision 'what changed'`"


def test_upgrade_from_the_first_revision(url: str) -> None:
    with Database(url) as database:
        with database.engine.begin() as connection:
            command.upgrade(alembic_config(connection), FIRST)
        assert current(database.engine) == FIRST
        revisions = [
            script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
        ]
        if head() != FIRST:
            with pytest.raises(StorageError, match="run `monitor db upgrade`"):
                Database.open(url)
        assert upgrade(database.engine) == (FIRST, head())
        assert current(database.engine) == head()
        assert FIRST in revisions
        assert _differences(database) == []
    Database.open(url).close()


def test_an_outdated_schema_is_refused_with_the_command_that_fixes_it(url: str) -> None:
    Database.open(url).close()
    database = Database(url)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    try:
        with pytest.raises(StorageError, match="revision ffff, which this monitor does not know"):
            Database.open(url)
        with database.engine.begin() as connection:
            command.stamp(alembic_config(connection), "base", purge=True)
            connection.execute(text("DROP TABLE crawl_failures"))  # a table added after 0.1
        with pytest.raises(StorageError) as refused:
            Database.open(url)
        message = str(refused.value)
        assert "was created by monitor 0.1 and has no schema revision: run `monitor db upgrade`" in message
        assert "(back it up first)" in message
    finally:
        database.close()


def test_monitor_db_upgrade_adopts_a_database_from_0_1(url: str, tmp_path: Path) -> None:
    """Tables made by create_all without a revision (monitor 0.1): upgrade adds what is missing."""
    database = Database(url)
    with database.engine.begin() as connection:  # the alerts table as 0.1.0 created it
        key = "INTEGER" if connection.dialect.name == "sqlite" else "SERIAL"
        stamp = "DATETIME" if connection.dialect.name == "sqlite" else "TIMESTAMP WITH TIME ZONE"
        connection.execute(
            text(
                f"CREATE TABLE crawl_runs (id {key} PRIMARY KEY, source VARCHAR(200) NOT NULL, "
                f"started_at {stamp} NOT NULL, finished_at {stamp}, status VARCHAR(16) NOT NULL, "
                "pages_fetched INTEGER NOT NULL, articles_stored INTEGER NOT NULL, error TEXT)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO crawl_runs (source, started_at, status, pages_fetched, articles_stored) "
                "VALUES ('feed', CURRENT_TIMESTAMP, 'ok', 3, 1)"
            )
        )
    config = tmp_path / "monitor.yaml"
    config.write_text(f"database: '{url}'\n", encoding="utf-8")
    runner = CliRunner()
    before = runner.invoke(main, ["--config", str(config), "db", "current"])
    assert before.exit_code == 1
    assert before.output == f"none (head: {head()}): run `monitor db upgrade`\n"
    result = runner.invoke(main, ["--config", str(config), "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert result.output == f"database upgraded: none -> {head()}\n"
    again = runner.invoke(main, ["--config", str(config), "db", "upgrade"])
    assert again.output == f"database already at {head()}\n"
    after = runner.invoke(main, ["--config", str(config), "db", "current"])
    assert after.output == f"{head()} (head: {head()}): up to date\n"
    try:
        with database.engine.connect() as connection:  # the old row got the new columns' defaults
            row = connection.execute(text("SELECT pages_fetched, pages_failed FROM crawl_runs")).one()
        assert tuple(row) == (3, 0)
        Database.open(url).close()  # accepted now
    finally:
        database.close()
