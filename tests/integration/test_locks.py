"""Cross-process locks on SQLite and the real PostgreSQL: one scheduler, one crawl per source."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from monitor.errors import MonitorError
from monitor.store.locks import crawl_lock, scheduler_lock


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    value: str = request.getfixturevalue("postgres_url")
    return value


def test_one_crawl_per_source(url: str) -> None:
    first = crawl_lock(url, "feed")
    assert first is not None
    assert first.held()
    assert crawl_lock(url, "feed") is None  # a second crawl of the same source is refused
    other = crawl_lock(url, "wire")  # another source is not affected
    assert other is not None
    first.release()
    again = crawl_lock(url, "feed")
    assert again is not None
    again.release()
    other.release()


def test_sqlite_refuses_a_second_scheduler(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    lock = scheduler_lock(url, threading.Event())
    assert lock is not None
    with pytest.raises(MonitorError, match=r"another `monitor run` already schedules monitor\.db"):
        scheduler_lock(url, threading.Event())
    lock.release()


@pytest.mark.postgres
def test_postgres_standby_waits_and_takes_over(postgres_url: str) -> None:
    leader = scheduler_lock(postgres_url, threading.Event())
    assert leader is not None
    waiting = threading.Event()
    result: list[object] = []
    stop = threading.Event()

    def standby() -> None:
        result.append(scheduler_lock(postgres_url, stop, poll=0.1, on_wait=waiting.set))

    thread = threading.Thread(target=standby)
    thread.start()
    assert waiting.wait(10)
    time.sleep(0.3)
    assert not result  # still standing by while the leader holds the lock
    leader.release()  # as when its process dies: the session closes
    thread.join(10)
    taken = result[0]
    assert taken is not None
    assert taken.held()  # type: ignore[attr-defined]
    taken.release()  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_postgres_standby_stops_when_asked(postgres_url: str) -> None:
    leader = scheduler_lock(postgres_url, threading.Event())
    assert leader is not None
    stop = threading.Event()
    stop.set()
    assert scheduler_lock(postgres_url, stop, poll=0.1) is None
    leader.release()


@pytest.mark.slow
def test_a_crawl_of_a_source_already_being_crawled_fetches_nothing(tmp_path: Path) -> None:
    """The crawl process takes the source's lock first: while another holds it, it stands down."""
    from monitor.config.model import load_config
    from monitor.crawl.runner import crawl_source
    from monitor.demo.server import SiteServer, site_root

    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    with SiteServer(site_root()) as site:
        path = tmp_path / "monitor.yaml"
        path.write_text(
            f"database: '{url}'\nrules: []\nsources:\n"
            f"  - {{name: feed, kind: feed, url: '{site.url}/autoguide/feed.xml', allow_private: true}}\n",
            encoding="utf-8",
        )
        config = load_config(path, environ={})
        held = crawl_lock(url, "feed")  # as a crawl still running elsewhere would
        assert held is not None
        try:
            result = crawl_source(config, config.source("feed"))
        finally:
            held.release()
        assert site.requests == [], result
        assert (result.status, result.pages) == ("skipped", 0)
        assert crawl_source(config, config.source("feed")).status == "ok"  # free again


@pytest.mark.postgres
def test_postgres_standby_rides_out_a_dropped_session_and_a_leader_notices_its_own(postgres_url: str) -> None:
    from sqlalchemy import create_engine, text

    from monitor.store.locks import SCHEDULER_NAME, AdvisoryLock

    admin = create_engine(postgres_url)
    with admin.connect() as connection:
        since = connection.execute(text("SELECT now()")).scalar()
    leader = scheduler_lock(postgres_url, threading.Event())
    assert isinstance(leader, AdvisoryLock)
    leader_pid = leader.connection.execute(text("SELECT pg_backend_pid()")).scalar()
    waiting, stop, result = threading.Event(), threading.Event(), []
    thread = threading.Thread(
        target=lambda: result.append(scheduler_lock(postgres_url, stop, poll=0.1, on_wait=waiting.set))
    )
    thread.start()
    try:
        assert waiting.wait(10)
        with admin.begin() as connection:  # as a database restart would: the standby's session ends
            ended = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND pid <> :leader AND backend_start >= :since"
                ),
                {"name": SCHEDULER_NAME, "leader": leader_pid, "since": since},
            ).scalar()
        assert ended == 1
        time.sleep(0.5)
        assert not result  # reconnected, still standing by
        with admin.begin() as connection:  # now the leader's session ends
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": leader_pid})
        assert not leader.held()  # the leader notices (and `monitor run` stops)
        thread.join(10)
        taken = result[0]
        assert isinstance(taken, AdvisoryLock)
        assert taken.held()
        taken.release()
    finally:
        stop.set()
        thread.join(10)
        leader.release()
        admin.dispose()


def test_a_sqlite_url_naming_its_driver_locks_the_same_file(tmp_path: Path) -> None:
    plain = f"sqlite:///{tmp_path / 'monitor.db'}"
    with_driver = f"sqlite+pysqlite:///{tmp_path / 'monitor.db'}"
    lock = crawl_lock(with_driver, "feed")
    assert lock is not None
    assert (tmp_path / "monitor.db.crawl-feed.lock").exists()
    assert crawl_lock(plain, "feed") is None  # one database, however its URL is spelt
    lock.release()
    scheduler = scheduler_lock(plain, threading.Event())
    assert scheduler is not None
    with pytest.raises(MonitorError, match=r"another `monitor run` already schedules monitor\.db"):
        scheduler_lock(with_driver, threading.Event())
    scheduler.release()


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://", "sqlite+pysqlite:///:memory:"])
def test_an_in_memory_database_is_locked_without_a_file(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a relative lock file would land here
    scheduler = scheduler_lock(url, threading.Event())
    crawl = crawl_lock(url, "feed")
    assert scheduler is not None
    assert crawl is not None
    assert scheduler.held()
    assert crawl.held()
    scheduler.release()
    crawl.release()
    assert not scheduler.held()
    assert list(tmp_path.iterdir()) == []
