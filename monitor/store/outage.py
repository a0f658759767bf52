"""Riding out a database outage: one log line when it starts, one when it ends, backoff between.

A network blip between monitor and PostgreSQL (a failover, a restarted proxy) used to end
every ``monitor dispatch`` worker and ``monitor run`` with a 120-line traceback per job.
Long-running loops instead catch the errors that mean "the server cannot be reached"
(``is_unreachable``), say so once, wait with a capped exponential backoff (with jitter, so that
workers do not come back in step) and try again; the caller disposes SQLAlchemy's pool so
that no dead connection is handed out after the server is back.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from monitor.backoff import backoff_seconds
from monitor.errors import StorageError

FIRST_WAIT = 1.0  # seconds before the first retry
LONGEST_WAIT = 10.0  # the backoff's cap: back within seconds of the server


def is_unreachable(exc: BaseException) -> bool:
    """True for errors that mean the database server cannot be reached right now."""
    if isinstance(exc, StorageError):
        return "cannot open database" in str(exc) or "cannot reach the database" in str(exc)
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class Outage:
    """The state of one loop's connection to the database: up, or down since when."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self.log = log
        self.what = what
        self.since: float | None = None
        self.failures = 0
        self._lock = threading.Lock()

    def failed(self, exc: BaseException) -> float:
        """Record a failed try; log the outage once; return how long to wait before the next."""
        with self._lock:
            if self.since is None:
                self.since = time.monotonic()
                reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
                self.log.warning("database unreachable, %s waits and retries: %s", self.what, reason)
            self.failures += 1
            failures = self.failures
        return backoff_seconds(failures, FIRST_WAIT, LONGEST_WAIT, (0.5, 1.0))

    def recovered(self) -> None:
        """Record a success; log the end of an outage once."""
        with self._lock:
            if self.since is None:
                return
            self.log.warning(
                "database reachable again after %.0f s; %s goes on", time.monotonic() - self.since, self.what
            )
            self.since, self.failures = None, 0
