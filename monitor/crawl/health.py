"""Source health: adaptive polling, and when the operator hears about a source.

After each crawl the parent process updates the source's ``SourceHealth`` row:

- consecutive failures (a ``failed`` run; a ``partial`` one counts as a success with an
  error), last success, last error, and the last run without any failure;
- adaptive polling, for a source with ``max_interval``: the next crawl is due after half
  the median gap between the source's recent articles (by publication time, else first
  seen), never sooner than its ``min_interval`` (the schedule's tick) nor later than its
  ``max_interval``. A ``Retry-After`` the site sent pushes it further, by at most
  ``MAX_CRAWL_WAIT`` here (the crawl already cut it to ``crawl.retry_after_max``; a row
  from an older crawl may hold anything, and ``now + 999999999999 s`` overflows);
- the operator state: ``failing`` after ``operator.after_failures`` failed crawls in a
  row, ``silent`` when the newest article is older than ``silence_factor`` times the usual
  gap (and ``min_silence``), else ``ok``. A change of state is a ``Notice``: one message
  when it starts, one when the source recovers. ``monitor.crawl.runner`` sends it through apprise.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config.crawl import MAX_CRAWL_WAIT, OperatorSettings
from monitor.config.model import Source
from monitor.store.models import CrawlRun, SourceHealth

MIN_HISTORY = 5  # articles needed before a source's usual gap means anything


@dataclass(frozen=True, slots=True)
class Notice:
    """A change in a source's health that the operator is told about."""

    source: str
    state: str  # failing, silent or ok (recovered)
    previous: str
    title: str
    body: str


def usual_gap(times: Sequence[datetime]) -> float | None:
    """The median gap in seconds between consecutive article times; None with too few."""
    ordered = sorted(set(times))
    if len(ordered) < MIN_HISTORY:
        return None
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(ordered)]
    return float(statistics.median(gaps))


def next_interval(source: Source, gap: float | None) -> int | None:
    """Seconds until the next crawl of an adaptive source; None for a fixed schedule."""
    if source.max_interval is None or source.schedule.every is None:
        return None
    lowest, highest = source.schedule.every, source.max_interval
    if gap is None:
        return lowest
    return int(min(max(gap / 2, lowest), highest))


def uses_times(source: Source, operator: OperatorSettings | None) -> bool:
    """Whether ``record_run`` looks at the source's article times (else they need not be read).

    Only adaptive polling (``next_interval``) and the operator's silence notice use them.
    """
    return operator is not None or (source.max_interval is not None and source.schedule.every is not None)


def is_due(health: SourceHealth | None, now: datetime) -> bool:
    """Whether a scheduled crawl should run now (adaptive polling and Retry-After say so)."""
    return health is None or health.next_due_at is None or health.next_due_at <= now


def record_run(
    health: SourceHealth,
    run: CrawlRun,
    source: Source,
    times: Sequence[datetime],
    operator: OperatorSettings | None,
    now: datetime,
) -> Notice | None:
    """Fold one finished run into ``health``; the operator notice it causes, if any."""
    health.last_run_at = run.started_at
    if run.status == "failed":
        health.consecutive_failures += 1
        health.last_error_at, health.last_error = now, run.error
    else:
        health.consecutive_failures = 0
        health.last_success_at = run.started_at
        if run.status == "ok":
            health.last_complete_at = run.started_at
        else:
            health.last_error_at, health.last_error = now, run.error
    gap = usual_gap(times)
    interval = next_interval(source, gap)
    health.interval = interval
    due = now + timedelta(seconds=interval) if interval is not None else None
    if run.retry_after and run.retry_after > 0:
        due = max(due or now, now + timedelta(seconds=min(run.retry_after, MAX_CRAWL_WAIT)))
    health.next_due_at = due
    if operator is None:
        return None
    return _transition(health, _state(health, times, gap, operator, now), times, gap, now)


def _state(
    health: SourceHealth,
    times: Sequence[datetime],
    gap: float | None,
    operator: OperatorSettings,
    now: datetime,
) -> str:
    if health.consecutive_failures >= operator.after_failures:
        return "failing"
    if gap is not None and times:
        quiet = (now - max(times)).total_seconds()
        if quiet > max(operator.min_silence, operator.silence_factor * gap):
            return "silent"
    return "ok"


def _transition(
    health: SourceHealth, state: str, times: Sequence[datetime], gap: float | None, now: datetime
) -> Notice | None:
    previous = health.alert_state or "ok"
    if state == previous:
        return None
    health.alert_state = state
    name = health.source
    if state == "failing":
        title = f"[monitor] source {name} is failing"
        body = (
            f"{health.consecutive_failures} crawls of {name} failed in a row.\n\n"
            f"Last error: {health.last_error}\n"
            f"Last success: {_when(health.last_success_at)}"
        )
    elif state == "silent":
        newest = max(times)
        title = f"[monitor] source {name} has gone quiet"
        body = (
            f"The newest article of {name} is from {_when(newest)}, {_span((now - newest).total_seconds())} "
            f"ago; it usually publishes every {_span(gap or 0)}.\n\n"
            "Crawls succeed, so check that the feed, sitemap or listing still lists new articles."
        )
    else:
        title = f"[monitor] source {name} has recovered"
        was = "failing" if previous == "failing" else "quiet"
        body = f"{name} was {was}; it is fine again as of {_when(now)}."
    return Notice(name, state, previous, title, body)


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value is not None else "never"


def _span(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{max(seconds, 0) / 60:.0f} minutes"
