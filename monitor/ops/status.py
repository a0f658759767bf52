"""What ``monitor status`` shows for each source, read from the database.

Last success, last error, consecutive failures and the operator state come from
``source_health`` (``monitor.crawl.health``); articles per day from the articles stored in the
last seven days (a source not crawled for three of its intervals shows as overdue: the
scheduler may have stopped); the next run from the scheduler's own job store (APScheduler's
``apscheduler_jobs`` table, written by ``monitor run``), pushed later when adaptive polling
or a ``Retry-After`` says the source is not due yet. Extraction quality is the share of the
source's newest article pages that gave no body, no date or no author
(``monitor.crawl.quality``), and whether the operator was told it degraded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from monitor.config.model import Config, Source
from monitor.crawl.quality import FIELDS, Quality, recent_pages
from monitor.ops.schedule import JOB_PREFIX
from monitor.store.runs import all_health, articles_since, recent_runs

WINDOW = timedelta(days=7)
QUALITY_PAGES = 50  # the newest article pages whose extraction `monitor status` shows
OVERDUE_MIN = timedelta(hours=1)
JOB_TABLE = "apscheduler_jobs"  # the table monitor.ops.schedule gives APScheduler's SQLAlchemy job store


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """One source's health, as ``monitor status`` prints it."""

    name: str
    kind: str
    state: str  # ok, failed, failing, silent, overdue, or new (never crawled)
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    failures: int
    per_day: float
    next_run: datetime | None
    interval: int | None  # adaptive polling: the current interval, seconds
    last_run: str | None  # the newest run's status: ok, partial, failed, skipped
    pages_judged: int = 0  # the newest article pages (up to QUALITY_PAGES) the shares below are of
    missing: dict[str, float] = field(default_factory=dict)  # body, date, author -> share without it
    extraction: str = "ok"  # ok, or degraded: the operator was told its shares jumped


def source_statuses(session: Session, config: Config, now: datetime | None = None) -> list[SourceStatus]:
    """The status of every configured source, in configuration order."""
    now = now or datetime.now(UTC)
    health = all_health(session)
    counts = articles_since(session, now - WINDOW)
    jobs = _next_runs(session)
    result = []
    for source in config.sources:
        row = health.get(source.name)
        runs = recent_runs(session, source.name, limit=1)
        quality = Quality.of(recent_pages(session, source.name, QUALITY_PAGES))
        state = "new" if row is None or row.last_run_at is None else row.alert_state or "ok"
        if state == "ok" and row is not None and row.consecutive_failures:
            state = "failed"  # below the operator's threshold, but the last crawl did fail
        if (
            state in ("ok", "failed")
            and row is not None
            and _overdue(source, row.last_run_at, row.interval, now)
        ):
            state = "overdue"  # no crawl for three intervals: is `monitor run` running?
        result.append(
            SourceStatus(
                name=source.name,
                kind=source.kind,
                state=state,
                last_success=row.last_success_at if row else None,
                last_error=row.last_error if row else None,
                last_error_at=row.last_error_at if row else None,
                failures=row.consecutive_failures if row else 0,
                per_day=counts.get(source.name, 0) / WINDOW.days,
                next_run=_next_run(source, jobs.get(source.name), row.next_due_at if row else None),
                interval=row.interval if row else None,
                last_run=runs[0].status if runs else None,
                pages_judged=quality.pages,
                missing={name: quality.share(name) for name in FIELDS},
                extraction=(row.quality_state or "ok") if row else "ok",
            )
        )
    return result


def _overdue(source: Source, last_run: datetime | None, interval: int | None, now: datetime) -> bool:
    every = interval or source.schedule.every
    if last_run is None or every is None:
        return False
    return now - last_run > max(3 * timedelta(seconds=every), OVERDUE_MIN)


def _next_runs(session: Session) -> dict[str, datetime]:
    """Each crawl job's next run time from APScheduler's job store, if ``monitor run`` has one."""
    if not inspect(session.connection()).has_table(JOB_TABLE):  # this transaction's connection
        return {}
    rows = session.execute(text(f"SELECT id, next_run_time FROM {JOB_TABLE}"))  # a constant, not input
    return {
        str(job_id)[len(JOB_PREFIX) :]: datetime.fromtimestamp(float(when), tz=UTC)
        for job_id, when in rows
        if str(job_id).startswith(JOB_PREFIX) and when is not None
    }


def _next_run(source: Source, job: datetime | None, due: datetime | None) -> datetime | None:
    """The scheduler's next tick, or the first tick at or after the due time if that is later."""
    if job is None:
        return None
    if due is None or due <= job or not source.schedule.every:
        return job
    ticks = -(-(due - job) // timedelta(seconds=source.schedule.every))  # ceiling division
    return job + ticks * timedelta(seconds=source.schedule.every)
