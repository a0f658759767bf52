"""The shared backoff formula, and the numbers each caller keeps."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from monitor.backoff import backoff_seconds
from monitor.crawl import politeness
from monitor.notify import policy


@pytest.mark.parametrize(
    ("attempt", "draw", "expected"),
    [(0, 0.5, 10.0), (1, 0.5, 10.0), (2, 0.5, 20.0), (3, 0.0, 20.0), (3, 0.999, 59.96), (9, 0.5, 100.0)],
)
def test_doubles_up_to_the_cap_times_the_jitter(attempt: int, draw: float, expected: float) -> None:
    assert backoff_seconds(attempt, 10.0, 100.0, (0.5, 1.5), lambda: draw) == pytest.approx(expected)


def test_a_huge_attempt_number_is_the_cap_not_an_overflow() -> None:
    assert backoff_seconds(10_000, 30.0, 3600.0, (1.0, 1.0)) == 3600.0
    assert policy.backoff(10_000, lambda: 0.5) == timedelta(hours=1)
    assert politeness.backoff(10_000, 1.0, random.Random(1)) <= 75.0


def test_the_crawl_keeps_its_numbers() -> None:
    """1 s, 2 s, 4 s ... capped at 60 s, times uniform(0.75, 1.25), as before."""
    for retry in (1, 2, 3, 7, 8, 20):
        expected = min(2.5 * 2 ** (retry - 1), 60.0) * random.Random(retry).uniform(0.75, 1.25)
        assert politeness.backoff(retry, 2.5, random.Random(retry)) == pytest.approx(expected, rel=1e-12)


def test_alerts_keep_their_numbers() -> None:
    """30 s, 60 s, 120 s ... capped at one hour, times a factor in [0.5, 1.5), as before."""
    for attempt in (1, 2, 5, 8, 30):
        for draw in (0.0, 0.25, 0.999):
            before = min(timedelta(seconds=30) * 2 ** (attempt - 1), timedelta(hours=1)) * (0.5 + draw)
            assert policy.backoff(attempt, lambda draw=draw: draw) == before
