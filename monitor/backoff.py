"""Capped exponential backoff with jitter: the one formula behind every retry delay.

Alert sends (``monitor.notify.policy``), crawl retries (``monitor.crawl.politeness``) and
the waits through a database outage (``monitor.store.outage``) all wait ``first``,
``2 * first``, ``4 * first`` ... up to ``cap``, times a random factor, so that many
requests failed by one outage do not all come back at the same second. Each caller keeps
its own numbers; this module only holds the arithmetic.
"""

from __future__ import annotations

import random
from collections.abc import Callable

_MAX_DOUBLINGS = 64  # far past any cap; keeps 2 ** n a float that cannot overflow


def backoff_seconds(
    attempt: int,
    first: float,
    cap: float,
    jitter: tuple[float, float],
    draw: Callable[[], float] = random.random,
) -> float:
    """Seconds before retry ``attempt`` (1-based): ``first * 2 ** (attempt - 1)``, at most
    ``cap``, times a factor in ``[low, high)`` of ``jitter`` (``draw()`` is in ``[0, 1)``).

    The factor is ``low + (high - low) * draw()``, the formula of ``random.uniform``, so a
    seeded ``random.Random`` gives the same delays as ``uniform(low, high)`` would.
    """
    delay = min(first * 2.0 ** min(max(attempt - 1, 0), _MAX_DOUBLINGS), cap)
    low, high = jitter
    return delay * (low + (high - low) * draw())
