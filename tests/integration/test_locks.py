"""Cross-process locks on SQLite and the real PostgreSQL: one scheduler, one crawl per source."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from monitor.errors import MonitorError
from monitor.locks import crawl_lock, scheduler_lock


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
    from monitor.config import load_config
    from monitor.crawl import crawl_source
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
