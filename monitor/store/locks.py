"""Cross-process locks: one active scheduler per database, one running crawl per source.

The database server does the locking, so the locks hold across machines and die with
their holder. On PostgreSQL these are session-level advisory locks
(``pg_try_advisory_lock``) held on a dedicated connection: when the holding process
dies, its connection closes and PostgreSQL releases the lock at once; if its machine
vanishes, TCP keepalives (set on both ends below) end the session within about
``KEEPALIVE_BOUND`` seconds. On SQLite, which lives on one machine, an ``flock`` on a file
beside the database does the same; an in-memory SQLite database belongs to one process
(and one engine), so nobody else can contend for it and its locks are granted at once.

Lock keys are scoped by the current schema, so several monitors (and the test suite's
throwaway schemas) can share one PostgreSQL database.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from monitor.config.dburl import backend, driver_url, is_sqlite, sqlite_file
from monitor.errors import MonitorError, StorageError

SCHEDULER_CLASS = 0x6D6F6E  # advisory lock "class" ids of monitor: "mon" ...
CRAWL_CLASS = 0x6D6F63  # ... and "moc"
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}
KEEPALIVE_BOUND = 25  # idle + interval * count: a vanished holder's session is dropped by then
SCHEDULER_NAME = "monitor scheduler lock"  # application_name of the lock connections


class Lock(Protocol):
    """A lock this process holds until ``release``."""

    def held(self) -> bool:
        """Whether the lock is still ours (``False`` once the database dropped our session)."""

    def release(self) -> None:
        """Give the lock up (also done by the operating system when the process dies)."""


class FileLock:
    """An ``flock`` on a file beside a SQLite database."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle

    def held(self) -> bool:
        """An flock cannot be taken away from a live process."""
        return not self.handle.closed

    def release(self) -> None:
        """Close the file, which drops the flock."""
        self.handle.close()


class PrivateLock:
    """The lock of an in-memory SQLite database: no other process can open that database."""

    def __init__(self) -> None:
        self.released = False

    def held(self) -> bool:
        """Ours until released."""
        return not self.released

    def release(self) -> None:
        """Nothing to give back."""
        self.released = True


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock held on its own connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def held(self) -> bool:
        """Ask the server: a dropped session (server restart, network) has lost the lock."""
        try:
            self.connection.execute(text("SELECT 1"))
        except DBAPIError:
            return False
        return True

    def release(self) -> None:
        """Close the session: PostgreSQL releases every advisory lock it held."""
        engine = self.connection.engine
        with contextlib.suppress(DBAPIError):  # already gone: so is the lock
            self.connection.close()
        engine.dispose()


def _postgres_connection(url: str, name: str) -> Connection:
    """A dedicated, autocommit connection with keepalives (never idle in a transaction).

    ``name`` becomes its ``application_name``, so ``pg_stat_activity`` shows who holds what.
    """
    url = driver_url(url)
    arguments = {**KEEPALIVE, "application_name": name[:63]}
    engine = create_engine(url, poolclass=NullPool, connect_args=arguments)
    try:
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        # The server side of the keepalive: PostgreSQL notices a vanished client too.
        connection.execute(text("SET tcp_keepalives_idle = 10"))
        connection.execute(text("SET tcp_keepalives_interval = 5"))
        connection.execute(text("SET tcp_keepalives_count = 3"))
    except DBAPIError as exc:
        engine.dispose()
        raise StorageError(f"cannot reach the database for a lock: {exc.orig}") from None
    return connection


def _try_advisory(connection: Connection, lock_class: int, name: str) -> bool:
    statement = text("SELECT pg_try_advisory_lock(:cls, hashtext(current_schema() || ':' || :name))")
    return bool(connection.execute(statement, {"cls": lock_class, "name": name}).scalar())


def _beside(database: Path, suffix: str) -> Path:
    """The lock file of a SQLite database: its own name with ``suffix`` added, in its folder."""
    return database.with_name(database.name + suffix)


def _try_flock(path: Path) -> FileLock | None:
    handle = path.open("ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return FileLock(handle)


def scheduler_lock(
    url: str,
    stop: threading.Event,
    *,
    poll: float = 2.0,
    on_wait: Callable[[], None] | None = None,
) -> Lock | None:
    """Become the one active scheduler of the database at ``url``.

    PostgreSQL: wait as a standby, trying the advisory lock every ``poll`` seconds, until
    it is ours (returned) or ``stop`` is set (``None``); ``on_wait`` is called once when
    another scheduler holds it. A database that goes away meanwhile is waited for; one
    that cannot be reached at the start is a ``StorageError``. SQLite: refuse at once with a
    ``MonitorError``, since the only other scheduler that can exist runs on this very machine.
    """
    if is_sqlite(url):
        database = sqlite_file(url)
        if database is None:
            return PrivateLock()
        lock = _try_flock(_beside(database, ".scheduler.lock"))
        if lock is None:
            raise MonitorError(
                f"another `monitor run` already schedules {database.name}; run one scheduler per database"
            )
        return lock
    if backend(url) != "postgresql":
        raise StorageError("one active scheduler needs SQLite or PostgreSQL")
    connection: Connection | None = _postgres_connection(url, SCHEDULER_NAME)  # a wrong URL fails here
    waited = False
    while True:
        try:
            if connection is None:
                connection = _postgres_connection(url, SCHEDULER_NAME)
            if _try_advisory(connection, SCHEDULER_CLASS, "scheduler"):
                return AdvisoryLock(connection)
            if not waited and on_wait is not None:
                on_wait()
            waited = True
        except (DBAPIError, StorageError):  # the server went away: stand by, reconnect later
            if connection is not None:
                AdvisoryLock(connection).release()
            connection = None
        if stop.wait(poll):
            if connection is not None:
                AdvisoryLock(connection).release()
            return None


def crawl_lock(url: str, source: str) -> Lock | None:
    """The lock of one source's crawl, or ``None`` when a crawl of it is already running.

    Held by the crawl process itself (``monitor.crawl.extensions.CrawlLock``), wherever it runs: a
    child of ``monitor run``, a scrapyd node, or a crawl left running by a scheduler that
    died, so a new leader cannot start the same crawl beside it.
    """
    if is_sqlite(url):
        database = sqlite_file(url)
        return PrivateLock() if database is None else _try_flock(_beside(database, f".crawl-{source}.lock"))
    connection = _postgres_connection(url, f"monitor crawl lock {source}")
    if _try_advisory(connection, CRAWL_CLASS, source):
        return AdvisoryLock(connection)
    AdvisoryLock(connection).release()
    return None
