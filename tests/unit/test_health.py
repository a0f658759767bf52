"""Source health: adaptive polling, operator alert transitions, Retry-After parsing, failure reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from scrapy.exceptions import (
    DownloadCancelledError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)

from monitor.config.crawl import OperatorSettings
from monitor.config.model import Schedule, Source
from monitor.crawl.failures import describe
from monitor.crawl.health import is_due, next_interval, record_run, usual_gap
from monitor.crawl.politeness import RobotsUnavailable, backoff, retry_after_seconds
from monitor.crawl.safety import RefusedRequest
from monitor.store.models import CrawlRun, SourceHealth

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
OPERATOR = OperatorSettings("ops", after_failures=3, silence_factor=4.0, min_silence=3600)


def hourly(count: int, end: datetime = NOW) -> list[datetime]:
    return [end - timedelta(hours=n) for n in range(count)]


def adaptive(every: int = 300, most: int = 7200) -> Source:
    return Source("s", "feed", "https://e.example/feed", schedule=Schedule(every=every), max_interval=most)


def run(status: str, error: str | None = None, retry_after: int | None = None) -> CrawlRun:
    return CrawlRun(source="s", started_at=NOW, status=status, error=error, retry_after=retry_after)


def health() -> SourceHealth:
    return SourceHealth(source="s", consecutive_failures=0, alert_state="ok")


def test_usual_gap_is_the_median_gap_and_needs_some_history() -> None:
    assert usual_gap(hourly(4)) is None
    assert usual_gap(hourly(10)) == 3600
    assert usual_gap([*hourly(10), NOW - timedelta(days=30)]) == 3600  # one old article does not count much


def test_polling_is_half_the_usual_gap_between_min_and_max() -> None:
    source = adaptive(every=300, most=7200)
    assert next_interval(source, None) == 300  # nothing known yet: poll often
    assert next_interval(source, 3600) == 1800
    assert next_interval(source, 60) == 300
    assert next_interval(source, 86400) == 7200
    fixed = Source("f", "feed", "https://e.example/feed", schedule=Schedule(every=600))
    assert next_interval(fixed, 3600) is None


def test_a_crawl_is_due_after_the_adaptive_interval() -> None:
    row = health()
    record_run(row, run("ok"), adaptive(), hourly(10), None, NOW)
    assert row.next_due_at == NOW + timedelta(seconds=1800)
    assert not is_due(row, NOW + timedelta(minutes=10))
    assert is_due(row, NOW + timedelta(minutes=31))
    assert is_due(None, NOW)


def test_retry_after_pushes_the_next_crawl() -> None:
    row = health()
    record_run(
        row, run("partial", "1 of 2 pages failed", retry_after=7200), adaptive(), hourly(10), None, NOW
    )
    assert row.next_due_at == NOW + timedelta(hours=2)


def test_failing_after_n_failures_then_recovered() -> None:
    row, source, times = health(), adaptive(), hourly(10)
    notices = [record_run(row, run("failed", "timeout"), source, times, OPERATOR, NOW) for _ in range(4)]
    assert [notice.state if notice else None for notice in notices] == [None, None, "failing", None]
    failing = notices[2]
    assert failing is not None
    assert failing.title == "[monitor] source s is failing"
    assert "3 crawls of s failed in a row" in failing.body
    assert "timeout" in failing.body
    recovered = record_run(row, run("ok"), source, times, OPERATOR, NOW)
    assert recovered is not None
    assert (recovered.state, recovered.previous) == ("ok", "failing")
    assert recovered.title == "[monitor] source s has recovered"
    assert row.consecutive_failures == 0


def test_a_partial_crawl_is_a_success_with_an_error() -> None:
    row = health()
    row.consecutive_failures = 2
    record_run(row, run("partial", "1 of 9 pages failed: 1 timeout"), adaptive(), hourly(10), OPERATOR, NOW)
    assert row.consecutive_failures == 0
    assert row.last_success_at == NOW
    assert row.last_complete_at is None
    assert row.last_error == "1 of 9 pages failed: 1 timeout"


def test_silent_when_quiet_for_much_longer_than_usual() -> None:
    row, source = health(), adaptive()
    quiet = hourly(10, end=NOW - timedelta(hours=3))  # hourly, then nothing for 3 hours
    assert record_run(row, run("ok"), source, quiet, OPERATOR, NOW) is None  # 3 h < 4 x 1 h
    late = hourly(10, end=NOW - timedelta(hours=5))
    notice = record_run(row, run("ok"), source, late, OPERATOR, NOW)
    assert notice is not None
    assert notice.state == "silent"
    assert "usually publishes every 60 minutes" in notice.body
    back = record_run(row, run("ok"), source, hourly(10), OPERATOR, NOW)
    assert back is not None
    assert back.state == "ok"


def test_no_operator_means_no_notices() -> None:
    row = health()
    for _ in range(5):
        assert record_run(row, run("failed", "x"), adaptive(), [], None, NOW) is None
    assert row.consecutive_failures == 5


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), (b"0", 0.0), ("Thu, 26 Nov 2026 12:01:00 GMT", 60.0), ("soon", None), (None, None)],
)
def test_retry_after_header(header: str | bytes | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, now=NOW.timestamp()) == seconds


def test_backoff_doubles_with_jitter() -> None:
    assert 0.75 <= backoff(1, 1.0) <= 1.25
    assert 3.0 <= backoff(3, 1.0) <= 5.0
    assert backoff(20, 1.0) <= 75.0


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (DownloadTimeoutError("took longer than 30 seconds"), "timeout"),
        (ResponseDataLossError(), "truncated"),
        (DownloadCancelledError(), "too-large"),
        (IgnoreRequest("max redirections reached"), "redirect-loop"),
        (IgnoreRequest("Ignored response <200 x> because its body exceeded DOWNLOAD_MAXSIZE"), "too-large"),
        (RefusedRequest("127.0.0.1 is a private ... address"), "refused"),
        (RobotsUnavailable("robots.txt answered HTTP 503"), "robots-unavailable"),
    ],
)
def test_failure_reasons(exc: Exception, reason: str) -> None:
    assert describe(exc)[0] == reason
