"""When an alert goes out: instant or in a digest, throttling, quiet hours, retry backoff.

Pure functions of the rule, the channel settings and the clock, so they are tested without
a database and the dispatcher stays a loop.

- A rule's ``mode`` is ``instant`` or a digest: ``hourly`` (``0 * * * *``), ``daily``
  (``0 8 * * *``) or ``weekly`` (``0 8 * * 1``); a rule's ``schedule:`` cron replaces that
  default. Crons are read in the channel's time zone. (``digest``, for callers that build
  policies themselves, means the channel's own ``digest:`` cron.)
- ``max_per_hour`` caps the instant alerts a rule sends to one channel in any sliding hour;
  the overflow is held for the channel's next digest, never dropped.
- During a channel's quiet hours nothing is sent to it; alerts and digests wait for the end.
- A failed send is retried after 30 s, 60 s, 120 s ... (capped at one hour), each delay
  multiplied by a random factor in [0.5, 1.5) so that many alerts failed by one outage do
  not all come back at the same second.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.backoff import backoff_seconds
from monitor.config.channels import Channel
from monitor.config.values import cron_trigger, zone
from monitor.watch.rules import Rule

FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)
MODE_SCHEDULES = {"hourly": "0 * * * *", "daily": "0 8 * * *", "weekly": "0 8 * * 1"}
_MAX_WINDOWS = 100_000  # a bound on walking cron fire times after a long downtime


@dataclass(frozen=True, slots=True)
class RulePolicy:
    """How one rule's alerts are delivered."""

    mode: str = "instant"
    max_per_hour: int | None = None
    schedule: str | None = None  # cron of a ``digest`` rule; None: the channel's digest cron

    @classmethod
    def of(cls, rule: Rule) -> RulePolicy:
        """The delivery policy of a watch rule."""
        return cls(mode=rule.mode, max_per_hour=rule.max_per_hour, schedule=rule.schedule)


def policies(rules: Iterable[Rule]) -> dict[str, RulePolicy]:
    """Rule name -> policy, for every loaded rule."""
    return {rule.name: RulePolicy.of(rule) for rule in rules}


def digest_key(policy: RulePolicy, channel: Channel) -> str | None:
    """The cron whose windows gather this rule's alerts, or ``None`` for instant delivery."""
    if policy.mode == "instant":
        return None
    return policy.schedule or MODE_SCHEDULES.get(policy.mode) or channel.digest


def window_end(cron: str, timezone: str, oldest: datetime, now: datetime) -> datetime | None:
    """The last fire time of ``cron`` that is after ``oldest`` and not after ``now``.

    Alerts held before it form one digest; ``None`` while the first window is still open.
    After a downtime all elapsed windows merge into one digest instead of a burst of them.
    """
    trigger = cron_trigger(cron, timezone)
    found: datetime | None = None
    after = oldest + timedelta(microseconds=1)
    for _ in range(_MAX_WINDOWS):
        fire: datetime | None = trigger.get_next_fire_time(None, after)
        if fire is None or fire > now:
            break
        found = fire
        after = fire + timedelta(seconds=1)
    return found


def quiet_until(channel: Channel, timezone: str, now: datetime) -> datetime | None:
    """When the channel's quiet hours end, if ``now`` is inside them; else ``None``."""
    if channel.quiet_hours is None:
        return None
    local = now.astimezone(zone(timezone))
    if not channel.quiet_hours.contains(local):
        return None
    return channel.quiet_hours.ends_after(local)


def backoff(attempt: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential backoff with jitter: 30 s, 60 s, 120 s ... capped at one hour, times [0.5, 1.5)."""
    first, cap = FIRST_RETRY.total_seconds(), LAST_RETRY.total_seconds()
    return timedelta(seconds=backoff_seconds(attempt, first, cap, (0.5, 1.5), rng))


def give_up(
    attempts: int, max_attempts: int, created_at: datetime, max_age: timedelta, now: datetime
) -> bool:
    """Whether an alert that just failed its ``attempts``-th try is failed for good."""
    return attempts >= max_attempts or now - created_at >= max_age
