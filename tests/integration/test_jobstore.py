"""The scheduler's jobs in memory, kept in the database: a job's new run time is written a second
behind, all at once; adding and removing at once; what is pending is written at shutdown."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import create_engine, text

from monitor.ops.jobstore import KeptJobStore

TABLE = "apscheduler_jobs"


def tick() -> None:
    """A job function the job store can pickle by reference."""


def stored(url: str) -> dict[str, float]:
    """The next run time of each job row, as the table holds it now."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(f"SELECT id, next_run_time FROM {TABLE}"))
            return {str(job_id): float(run_at) for job_id, run_at in rows}
    finally:
        engine.dispose()


def scheduler(url: str, flush_every: float) -> tuple[BackgroundScheduler, KeptJobStore]:
    store = KeptJobStore(url=url, tablename=TABLE, flush_every=flush_every)
    started = BackgroundScheduler(jobstores={"default": store}, timezone="UTC")
    started.start(paused=True)
    return started, store


def test_run_times_are_written_behind_in_one_go_and_read_back_at_the_next_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    first, store = scheduler(url, flush_every=3600)  # nothing is due to be written by time alone
    soon = datetime.now(UTC) + timedelta(minutes=5)
    for name in ("a", "b", "c"):
        first.add_job(tick, IntervalTrigger(minutes=10), id=name, next_run_time=soon)
    assert set(stored(url)) == {"a", "b", "c"}  # added: written at once

    later = soon + timedelta(minutes=7)
    first.modify_job("a", next_run_time=later)
    first.modify_job("b", next_run_time=later)
    assert store.get_next_run_time() == soon  # memory has the new times at once...
    assert stored(url)["a"] == soon.timestamp()  # ...the table not yet
    assert set(store.pending) == {"a", "b"}

    store.flushed = time.monotonic() - 3600  # as if an hour had passed since the last write
    assert store.flush_due() == 0
    assert store.get_next_run_time() == soon  # asked at each wake-up: writes what is due
    assert store.pending == {}
    assert stored(url)["a"] == stored(url)["b"] == later.timestamp()

    first.modify_job("c", next_run_time=later)
    first.remove_job("b")
    assert set(stored(url)) == {"a", "c"}  # removed: at once
    first.shutdown(wait=False)  # the pending write of c is not lost
    assert stored(url)["c"] == later.timestamp()

    second, _ = scheduler(url, flush_every=3600)
    try:
        jobs = {job.id: job.next_run_time for job in second.get_jobs()}
    finally:
        second.shutdown(wait=False)
    assert jobs == {"a": later, "c": later}  # a restart resumes the schedule


def test_an_update_after_a_quiet_second_is_written_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    started, store = scheduler(url, flush_every=0.0)
    try:
        when = datetime.now(UTC) + timedelta(minutes=1)
        started.add_job(tick, IntervalTrigger(minutes=10), id="a", next_run_time=when)
        started.modify_job("a", next_run_time=when + timedelta(minutes=3))
        assert store.pending == {}
        assert stored(url)["a"] == (when + timedelta(minutes=3)).timestamp()
    finally:
        started.shutdown(wait=False)


def test_a_failed_write_is_kept_and_tried_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    started, store = scheduler(url, flush_every=3600)
    try:
        when = datetime.now(UTC) + timedelta(minutes=1)
        started.add_job(tick, IntervalTrigger(minutes=10), id="a", next_run_time=when)
        started.modify_job("a", next_run_time=when + timedelta(minutes=3))
        with store.table.engine.begin() as connection:  # the table is gone: every write fails
            connection.execute(text(f"ALTER TABLE {TABLE} RENAME TO elsewhere"))
        store.flush()
        assert set(store.pending) == {"a"}  # kept for the next try
        with store.table.engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE elsewhere RENAME TO {TABLE}"))
        store.flush()
        assert store.pending == {}
        assert stored(url)["a"] == (when + timedelta(minutes=3)).timestamp()
    finally:
        started.shutdown(wait=False)
