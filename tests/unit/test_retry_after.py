"""``Retry-After`` values a hostile server can send: none may overflow, go negative or park a source."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from monitor.config.crawl import MAX_CRAWL_WAIT
from monitor.config.model import Schedule, Source
from monitor.crawl.health import record_run
from monitor.crawl.politeness import MAX_ASKED, retry_after_seconds
from monitor.store.models import CrawlRun, SourceHealth

NOW = time.time()


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("999999999999", 999999999999.0),
        ("99999999", 99999999.0),
        ("9" * 40, MAX_ASKED),
        ("9" * 5000, None),  # not a number of at most 40 digits, not a date
        ("-5", None),
        ("1e999", None),
        ("inf", None),
        ("NaN", None),
        ("٣", None),  # a digit, but not an ASCII one
        ("Fri, 31 Dec 9999 23:59:59 GMT", pytest.approx(253402300799.0 - NOW, abs=5)),
        ("Mon, 01 Jan 0001 00:00:00 GMT", 0.0),
        ("Tue, 99 Foo 99999999999 99:99:99 GMT", None),
        ("Fri, 31 Dec 2026 23:59:59", None),  # no zone: unreadable
        (b"\xff\xfe", None),
        ("", None),
    ],
)
def test_hostile_values_are_read_safely(header: str | bytes, seconds: float | None) -> None:
    assert retry_after_seconds(header, now=NOW) == seconds


def test_a_date_in_the_future_is_a_delay() -> None:
    when = datetime.fromtimestamp(NOW, UTC) + timedelta(hours=2)
    assert retry_after_seconds(format_datetime(when, usegmt=True), now=NOW) == pytest.approx(7200, abs=1)


def test_a_huge_recorded_retry_after_neither_overflows_nor_parks_the_source() -> None:
    """A run row from before the cap (or any crawl) may hold anything: health cuts it to a week."""
    now = datetime.now(UTC)
    source = Source("s", "feed", "http://e.example/feed", schedule=Schedule(every=600))
    health = SourceHealth(source="s", consecutive_failures=0)
    run = CrawlRun(
        source="s", started_at=now, status="partial", error="1 of 2 failed", retry_after=999999999999
    )
    record_run(health, run, source, [], None, now)
    assert health.next_due_at == now + timedelta(seconds=MAX_CRAWL_WAIT)
