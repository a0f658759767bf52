"""Alert delivery: render outbox rows and send them through apprise, one target at a time.

apprise does the sending for every service it supports (``mailto://``, Slack, Matrix,
ntfy, webhooks, ...). It keeps no queue and reports one True/False for all targets of an
``Apprise`` object together, so each target gets its own object and its own result, and
the outbox row remembers which targets already accepted the alert: a retry never resends
to those. A ``console://`` target, registered here as an apprise custom plugin, writes
alerts to standard output.
"""

from __future__ import annotations

import hashlib
import random
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import apprise
from apprise.decorators import notify as apprise_plugin

from monitor.errors import NotifyError
from monitor.models import AlertRow
from monitor.store import Database, claim_alerts, finish_alert

LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)


@apprise_plugin(on="console", name="Console")  # type: ignore[untyped-decorator,no-untyped-call]
def _console(body: str, title: str, notify_type: str, *args: Any, **kwargs: Any) -> bool:
    """Write an alert to standard output (the demo's and a developer's first channel)."""
    sys.stdout.write(f"\n=== {title} ===\n{body}\n")
    sys.stdout.flush()
    return True


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered alert: a title line and a Markdown body."""

    title: str
    body: str


@dataclass(slots=True)
class DispatchReport:
    """What one dispatcher pass did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    messages: list[Message] = field(default_factory=list)


def render_alert(alert: AlertRow, timezone: str = "UTC") -> Message:
    """The alert as people read it: rule and headline, outlet, time, authors, link, passage."""
    article, match = alert.article, alert.match
    lines = [f"**{article.title}**", ""]
    outlet = article.site_name or article.source
    if outlet:
        lines.append(f"Outlet: {outlet}")
    if article.published_at is not None:
        local = article.published_at.astimezone(ZoneInfo(timezone))
        lines.append(f"Published: {local:%Y-%m-%d %H:%M} {local.tzname()}")
    if article.authors:
        lines.append(f"By: {', '.join(article.authors)}")
    lines.append(f"Link: {article.url}")
    if match.snippet:
        lines += ["", f"> {match.snippet}"]
    if match.terms:
        lines += ["", f"Matched: {', '.join(match.terms)}"]
    return Message(title=f"[{alert.rule}] {article.title}", body="\n".join(lines))


def target_key(url: str) -> str:
    """A stable, non-secret name for one target URL (stored instead of the URL)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def send(url: str, message: Message, label: str) -> None:
    """Send ``message`` to one apprise URL; ``NotifyError`` if it is invalid or refused.

    ``label`` names the target in errors (``channel 'team' #2 (mailto)``): the URL itself
    may hold a token and never appears in a message.
    """
    target = apprise.Apprise()
    if not target.add(url):
        raise NotifyError(f"{label}: not a valid apprise URL")
    if not target.notify(title=message.title, body=message.body, body_format=apprise.NotifyFormat.MARKDOWN):
        raise NotifyError(f"{label}: the service refused the message or could not be reached")


def backoff(attempt: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential backoff with jitter: 30 s, 60 s, 120 s ... capped at one hour."""
    delay: timedelta = min(FIRST_RETRY * (2 ** max(attempt - 1, 0)), LAST_RETRY)
    return delay * (0.5 + rng())


class Dispatcher:
    """Sends due outbox alerts and records each result; safe to run in several processes."""

    def __init__(
        self,
        database: Database,
        channels: Mapping[str, tuple[str, ...]],
        *,
        max_attempts: int = 5,
        timezone: str = "UTC",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.database = database
        self.channels = channels
        self.max_attempts = max_attempts
        self.timezone = timezone
        self.clock = clock

    def dispatch_due(self, limit: int = 100) -> DispatchReport:
        """Send every alert that is due now, in batches of ``limit``."""
        report = DispatchReport()
        while True:
            with self.database.transaction() as session:
                batch = claim_alerts(session, self.clock(), LEASE, limit)
                work = [
                    (
                        alert.id,
                        alert.channel,
                        alert.attempts,
                        set(alert.delivered),
                        render_alert(alert, self.timezone),
                    )
                    for alert in batch
                ]
            if not work:
                return report
            for alert_id, channel, attempts, delivered, message in work:
                self._deliver(alert_id, channel, attempts, delivered, message, report)

    def _deliver(
        self,
        alert_id: int,
        channel: str,
        attempts: int,
        delivered: set[str],
        message: Message,
        report: DispatchReport,
    ) -> None:
        urls = self.channels.get(channel, ())
        errors: list[str] = []
        done: list[str] = []
        if not urls:
            errors.append(f"channel {channel!r} is not configured")
        for index, url in enumerate(urls, start=1):
            key = target_key(url)
            if key in delivered:
                continue
            scheme = url.split("://", 1)[0]
            try:
                send(url, message, f"channel {channel!r} #{index} ({scheme})")
            except NotifyError as exc:
                errors.append(str(exc))
            else:
                done.append(key)
        error = "; ".join(errors) or None
        now = self.clock()
        retry_at = None
        if error is not None and attempts + 1 < self.max_attempts:
            retry_at = now + backoff(attempts + 1)
        with self.database.transaction() as session:
            status = finish_alert(session, alert_id, done, error, now, retry_at)
        if status == "sent":
            report.sent += 1
            report.messages.append(message)
        elif status == "failed":
            report.failed += 1
        else:
            report.retrying += 1
