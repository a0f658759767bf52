"""Shared fixtures: databases (SQLite and the real PostgreSQL), the demo site, an SMTP sink.

PostgreSQL tests run against ``MONITOR_TEST_POSTGRES_URL`` (default: this machine's
server, 127.0.0.1:5432, database ``test``, trust auth), Redis tests against
``MONITOR_TEST_REDIS_URL`` (default 127.0.0.1:6379). They are skipped when the server
is unreachable, unless ``MONITOR_REQUIRE_SERVICES=1`` (set by CI), which turns the skip
into a failure so CI can never silently skip them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from monitor.demo.server import SiteServer, site_root
from monitor.demo.smtpsink import SmtpSink
from monitor.store.database import Database

POSTGRES_URL = os.environ.get(
    "MONITOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("MONITOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("MONITOR_REQUIRE_SERVICES") == "1"


@pytest.fixture(autouse=True, scope="session")
def _private_rule_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Compiled rule sets go to a folder of this test session, never the user's ~/.cache.

    Set in the environment, so the ``monitor`` children the tests start use it too.
    """
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


def _postgres_or_skip() -> str:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except OperationalError as exc:
        message = f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.orig}"
        if REQUIRE_SERVICES:
            pytest.fail(message + " (MONITOR_REQUIRE_SERVICES=1)")
        pytest.skip(message)
    return POSTGRES_URL


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    base = _postgres_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def _redis_or_skip() -> str:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        message = f"Redis not reachable at {REDIS_URL}: {exc}"
        if REQUIRE_SERVICES:
            pytest.fail(message + " (MONITOR_REQUIRE_SERVICES=1)")
        pytest.skip(message)
    return REDIS_URL


@pytest.fixture
def redis_url() -> str:
    """The Redis server (``MONITOR_TEST_REDIS_URL``, default 127.0.0.1:6379 database 0)."""
    return _redis_or_skip()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'monitor.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The same storage tests on SQLite and on the real PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'monitor.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    with Database.open(url) as db:
        yield db


@pytest.fixture(scope="session")
def demo_site() -> Iterator[SiteServer]:
    """The bundled demo site on 127.0.0.1, any free port."""
    with SiteServer(site_root()) as server:
        yield server


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""
    with SmtpSink() as sink:
        yield sink
