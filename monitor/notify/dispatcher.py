"""The outbox dispatcher: claim due alerts and digests, send each to each target, record it.

One pass (``dispatch_due``):

1. close every digest window whose cron time has passed (held alerts -> one ``DigestRow``);
2. claim due alerts in small batches under a lease; hold those of digest rules and those
   over their rule's ``max_per_hour``, put back those of a channel in quiet hours, send the rest;
3. claim due digests and send them the same way.

Each target of a channel is sent on its own and recorded in ``delivered`` in its own
transaction right after it accepted, so a failing target never causes a resend to the
others, and a worker killed between two targets resumes after the last one recorded.
Several dispatchers may run at once on PostgreSQL (``SKIP LOCKED``); each claim carries a
token, and a worker whose lease ran out cannot overwrite the next owner's result.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from monitor.config.channels import Channel
from monitor.config.declare import default_of
from monitor.config.model import Config
from monitor.errors import NotifyError
from monitor.notify import policy as rules_policy
from monitor.notify.render import Message, Templates, default_templates, entry_for, local_time
from monitor.notify.targets import send, target_key, target_label
from monitor.redact import protect
from monitor.store.database import Database
from monitor.store.models import AlertRow, DigestRow
from monitor.store.outbox import (
    also_reported_by,
    claim_alerts,
    claim_digests,
    close_window,
    digest_alerts,
    finish_alert,
    finish_digest,
    give_back,
    held_windows,
    hold,
    record_delivered,
    release,
    renew_lease,
    sent_recently,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
# The declared defaults of monitor.yaml's dispatch: keys, for dispatchers built without a Config.
LEASE = timedelta(seconds=default_of(Config, "lease"))
MAX_AGE = timedelta(seconds=default_of(Config, "alert_max_age"))
MAX_ATTEMPTS: int = default_of(Config, "max_attempts")
BATCH = 10  # rows claimed at once: few, so a crash leaves few rows waiting for their lease
HOUR = timedelta(hours=1)


@dataclass(slots=True)
class DispatchReport:
    """What one dispatcher pass did."""

    sent: int = 0  # alerts sent on their own
    retrying: int = 0
    failed: int = 0
    held: int = 0  # alerts parked for a digest (digest rules and max_per_hour overflow)
    deferred: int = 0  # alerts and digests put back until a channel's quiet hours end
    digests: int = 0  # digests sent
    messages: list[Message] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Job:
    """One claimed outbox row, rendered, detached from its session."""

    model: type[AlertRow] | type[DigestRow]
    row_id: int
    channel: str
    tries: int  # attempts since it was last queued (``alerts retry`` starts a new budget)
    created_at: datetime
    delivered: frozenset[str]
    message: Message
    lease_until: datetime  # when the claim's lease runs out unless renewed


class Dispatcher:
    """Sends due outbox alerts and digests and records each result; safe in several processes."""

    def __init__(
        self,
        database: Database,
        channels: Mapping[str, tuple[str, ...]],
        *,
        max_attempts: int = MAX_ATTEMPTS,
        timezone: str = "UTC",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        settings: Mapping[str, Channel] | None = None,
        rules: Mapping[str, rules_policy.RulePolicy] | None = None,
        templates: Templates | None = None,
        lease: timedelta = LEASE,
        max_age: timedelta = MAX_AGE,
        batch: int = BATCH,
        stop: threading.Event | None = None,
    ) -> None:
        self.database = database
        self.channels = channels
        self.max_attempts = max_attempts
        self.timezone = timezone
        self.clock = clock
        self.settings = dict(settings or {})
        self.rules = dict(rules or {})
        self.templates = templates or default_templates()
        self.lease = lease
        self.max_age = max_age
        self.batch = batch
        self.stop = stop or threading.Event()  # set: finish the send in flight, claim nothing more
        self.unfinished: set[str] = set()  # claim tokens whose batch a failure cut short
        protect(url for urls in channels.values() for url in urls)

    @classmethod
    def from_config(cls, database: Database, config: Config, **options: object) -> Dispatcher:
        """A dispatcher with every setting of ``config``: channels, rules' modes, templates."""
        from monitor.watch.cache import clean_rules

        # Only the rules' delivery settings are needed: the compiled rule set the crawls
        # cached, else the files read without compiling a matcher. A broken file
        # contributes no rules here; `monitor check` and the crawl report it.
        rules = clean_rules(config.rule_paths)
        return cls(
            database,
            config.channels,
            max_attempts=config.max_attempts,
            timezone=config.timezone,
            settings=config.channel_settings,
            rules=rules_policy.policies(rules),
            templates=Templates(config.templates),
            lease=timedelta(seconds=config.lease),
            max_age=timedelta(seconds=config.alert_max_age),
            **options,  # type: ignore[arg-type]
        )

    def channel(self, tag: str) -> Channel:
        """The delivery settings of a channel tag (defaults when it has none)."""
        return self.settings.get(tag) or Channel()

    def zone(self, tag: str) -> str:
        """The time zone of a channel: its own, else the global one."""
        return self.channel(tag).timezone or self.timezone

    def dispatch_due(self) -> DispatchReport:
        """Send every alert and digest that is due now."""
        report = DispatchReport()
        self._give_back_unfinished()
        self.close_windows()
        for claim in (self._claim_alerts, self._claim_digests):
            while not self.stop.is_set():
                token = uuid.uuid4().hex
                self.unfinished.add(token)  # until its whole batch is done or given back
                with self.database.transaction() as session:
                    jobs = claim(session, token, report)
                if jobs is None:
                    self.unfinished.discard(token)
                    break
                for job in jobs:
                    if self.stop.is_set():  # stop after the alert in flight, not the batch
                        self._give_back(token)
                        break
                    self._deliver(job, token, report)
                else:
                    self.unfinished.discard(token)  # every row of the batch is finished
        return report

    def _give_back_unfinished(self) -> None:
        """Release the claims a failure cut short (a database outage mid-batch), so that their
        alerts go out now rather than when the lease runs out."""
        for token in list(self.unfinished):
            self._give_back(token)

    def _give_back(self, token: str) -> None:
        """Make the rows still leased under ``token`` due again at once (they were never sent)."""
        with self.database.transaction() as session:
            released = give_back(session, token)
        self.unfinished.discard(token)
        if released:
            log.info("gave back %d claimed alert(s) or digest(s) unsent", released)

    def close_windows(self) -> int:
        """Gather held alerts of every elapsed digest window into digests; returns how many."""
        now = self.clock()
        built = 0
        with self.database.transaction() as session:
            for tag, key, oldest in held_windows(session):
                end = rules_policy.window_end(key, self.zone(tag), oldest, now)
                if end is None:
                    continue
                due = rules_policy.quiet_until(self.channel(tag), self.zone(tag), now) or now
                built += close_window(session, tag, key, end, now, due) is not None
        return built

    def _claim_alerts(self, session: Session, token: str, report: DispatchReport) -> list[_Job] | None:
        """Claim a batch and route it; ``None`` when nothing was due."""
        now = self.clock()
        lease_until = now + self.lease
        rows = claim_alerts(session, now, self.lease, self.batch, token)
        if not rows:
            return None
        claimed = [row.id for row in rows]
        sending: dict[tuple[str, str], int] = {}
        jobs: list[_Job] = []
        for alert in rows:
            settings, zone = self.channel(alert.channel), self.zone(alert.channel)
            policy = self.rules.get(alert.rule) or rules_policy.RulePolicy()
            fresh = alert.attempts == 0 and not alert.delivered
            key = rules_policy.digest_key(policy, settings)
            if fresh and key is not None:
                hold(alert, key, now)
                report.held += 1
                continue
            if (until := rules_policy.quiet_until(settings, zone, now)) is not None:
                release(alert, until)
                report.deferred += 1
                continue
            if fresh and policy.max_per_hour is not None:
                pair = (alert.rule, alert.channel)
                if pair not in sending:
                    sending[pair] = sent_recently(session, *pair, now - HOUR, exclude=claimed)
                if sending[pair] >= policy.max_per_hour:
                    hold(alert, settings.digest, now)
                    report.held += 1
                    continue
                sending[pair] += 1
            also = also_reported_by(session, alert.story_id, alert.article_id)
            message = self.templates.alert(entry_for(alert, zone, also), alert.channel)
            jobs.append(_job(AlertRow, alert, message, lease_until))
        return jobs

    def _claim_digests(self, session: Session, token: str, report: DispatchReport) -> list[_Job] | None:
        now = self.clock()
        lease_until = now + self.lease
        rows = claim_digests(session, now, self.lease, self.batch, token)
        if not rows:
            return None
        jobs: list[_Job] = []
        for digest in rows:
            zone = self.zone(digest.channel)
            if (until := rules_policy.quiet_until(self.channel(digest.channel), zone, now)) is not None:
                release(digest, until)
                report.deferred += 1
                continue
            entries = [
                entry_for(alert, zone, also_reported_by(session, alert.story_id, alert.article_id))
                for alert in digest_alerts(session, digest.id)
            ]
            message = self.templates.digest(entries, digest.channel, local_time(digest.window_end, zone))
            jobs.append(_job(DigestRow, digest, message, lease_until))
        return jobs

    def _deliver(self, job: _Job, token: str, report: DispatchReport) -> None:
        urls = self.channels.get(job.channel, ())
        errors: list[str] = [] if urls else [f"channel {job.channel!r} is not configured"]
        lease_until = job.lease_until  # from the claim: the batch's earlier sends used it up
        for index, url in enumerate(urls, start=1):
            key = target_key(url)
            if key in job.delivered:
                continue
            if self.clock() >= lease_until - self.lease / 2:  # renew before it can run out mid-send
                lease_until = self.clock() + self.lease
                with self.database.transaction() as session:
                    if not renew_lease(session, job.model, job.row_id, token, lease_until):
                        log.warning(
                            "lost the lease of %s %d to another worker: not sending it",
                            "alert" if job.model is AlertRow else "digest",
                            job.row_id,
                        )
                        return  # another worker owns it now and will finish it
            try:
                send(url, job.message, target_label(job.channel, index, url))
            except NotifyError as exc:
                errors.append(str(exc))
                continue
            with self.database.transaction() as session:
                record_delivered(session, job.model, job.row_id, key)
        self._finish(job, token, "; ".join(errors) or None, report)

    def _finish(self, job: _Job, token: str, error: str | None, report: DispatchReport) -> None:
        now = self.clock()
        retry_at = None
        if error is not None and not rules_policy.give_up(
            job.tries + 1, self.max_attempts, job.created_at, self.max_age, now
        ):
            retry_at = now + rules_policy.backoff(job.tries + 1)
        finish = finish_alert if job.model is AlertRow else finish_digest
        with self.database.transaction() as session:
            status = finish(session, job.row_id, (), error, now, retry_at, token)
        if status == "sent":
            if job.model is AlertRow:
                report.sent += 1
            else:
                report.digests += 1
            report.messages.append(job.message)
        elif status == "failed":
            report.failed += 1
        elif status == "pending":
            report.retrying += 1


def _job(
    model: type[AlertRow] | type[DigestRow],
    row: AlertRow | DigestRow,
    message: Message,
    lease_until: datetime,
) -> _Job:
    delivered = frozenset(row.delivered)
    tries = row.attempts - row.retried_after
    return _Job(model, row.id, row.channel, tries, row.created_at, delivered, message, lease_until)
