"""APScheduler's jobs served from memory and kept in the database, written a second behind.

``monitor run`` has one job per source. APScheduler's ``SQLAlchemyJobStore`` goes to the
database at every run of every job: it selects and unpickles the due jobs, pickles and
updates the job that ran (its own transaction), and selects the next run time: with 2,000
feeds every 5 minutes, that is about 20 statements and 7 commits a second, for a table that
only ``monitor run`` writes (one active scheduler per database: ``monitor.store.locks``).

``KeptJobStore`` keeps the jobs in memory (APScheduler's ``MemoryJobStore``), read from the
table when the scheduler starts, so a restart resumes the schedule as before. Adding and
removing a job is written at once; the new run time of a job that ran (or was modified) is
written within ``FLUSH_EVERY`` seconds, with the others due by then, in one transaction:
``flush_due`` says when, and the scheduler (``monitor.ops.schedule``) wakes up for it. A
process killed before a write loses at most that second: those jobs run once more at the
next start (their stored time has passed; ``coalesce`` makes it one run). A write that fails
(the database is unreachable) is kept and tried again.
"""

from __future__ import annotations

import logging
import pickle
import time
from typing import Any

from apscheduler.job import Job
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.util import datetime_to_utc_timestamp
from sqlalchemy import bindparam

from monitor.store.outage import Outage

log = logging.getLogger(__name__)
FLUSH_EVERY = 1.0  # seconds a job's new run time may wait before it is written


class KeptJobStore(MemoryJobStore):  # type: ignore[misc]
    """The jobs in memory; the table of a ``SQLAlchemyJobStore`` (``url``, ``tablename``) keeps them."""

    def __init__(self, url: str, tablename: str, flush_every: float = FLUSH_EVERY) -> None:
        super().__init__()
        self.table = SQLAlchemyJobStore(url=url, tablename=tablename)
        self.flush_every = flush_every
        self.pending: dict[str, tuple[float | None, bytes]] = {}  # job id -> its row's new values
        self.flushed = time.monotonic()
        self.outage = Outage(log, "the scheduler's job writes")

    def start(self, scheduler: Any, alias: str) -> None:
        """Read every stored job (APScheduler drops the ones it cannot unpickle)."""
        super().start(scheduler, alias)
        self.table.start(scheduler, alias)
        for job in self.table.get_all_jobs():
            super().add_job(job)

    def add_job(self, job: Job) -> None:
        """Add ``job`` here and to the table at once."""
        if job.id in self._jobs_index:
            super().add_job(job)  # raises ConflictingIdError
        self.table.add_job(job)
        super().add_job(job)

    def update_job(self, job: Job) -> None:
        """Update ``job`` here; its row is written within ``flush_every`` seconds."""
        super().update_job(job)
        state = pickle.dumps(job.__getstate__(), self.table.pickle_protocol)
        self.pending[job.id] = (datetime_to_utc_timestamp(job.next_run_time), state)
        if self.flush_due() == 0:
            self.flush()

    def remove_job(self, job_id: str) -> None:
        """Remove the job here and from the table at once."""
        super().remove_job(job_id)
        self.pending.pop(job_id, None)
        self.table.remove_job(job_id)

    def remove_all_jobs(self) -> None:
        """Remove every job here and from the table."""
        super().remove_all_jobs()
        self.pending.clear()
        self.table.remove_all_jobs()

    def get_next_run_time(self) -> Any:
        """The earliest next run time (asked at every wake-up: writes what is due first)."""
        if self.flush_due() == 0:
            self.flush()
        return super().get_next_run_time()

    def flush_due(self) -> float | None:
        """Seconds until the pending writes are due (0: now); None when nothing waits."""
        if not self.pending:
            return None
        return max(0.0, self.flushed + self.flush_every - time.monotonic())

    def flush(self) -> None:
        """Write every pending row in one transaction; on failure keep them for the next try."""
        if not self.pending:
            return
        table = self.table.jobs_t
        statement = (
            table.update()
            .where(table.c.id == bindparam("job_id"))
            .values(next_run_time=bindparam("run_at"), job_state=bindparam("state"))
        )
        rows = [
            {"job_id": job_id, "run_at": run_at, "state": state}
            for job_id, (run_at, state) in self.pending.items()
        ]
        self.flushed = time.monotonic()
        try:
            with self.table.engine.begin() as connection:
                connection.execute(statement, rows)
        except Exception as exc:  # the database is unreachable: the jobs run on from memory
            self.outage.failed(exc)  # logged once per outage; tried again at the next flush
            return
        self.outage.recovered()
        self.pending.clear()

    def shutdown(self) -> None:
        """Write what is pending, then let go of the table (whose jobs stay, for the next start)."""
        self.flush()
        self.table.shutdown()
        MemoryJobStore.remove_all_jobs(self)  # not this class's: that would empty the table
