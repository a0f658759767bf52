"""The alert outbox in the database: claim with a lease, record each target, finish, hold, digest.

Alerts and digests share one life cycle (``models.OutboxColumns``)::

    pending --claim--> sending --finish--> sent
       ^                  |  \\--finish (error, retries left)--> pending (next_attempt_at later)
       |                  |   \\-finish (error, none left)-----> failed --retry--> pending
       |                  \\-- lease expired: claimable again by any worker
    held (alert waiting for a digest window) --window closes--> in a DigestRow, sent with it

Every write is a short transaction of its own, so a worker killed at any point leaves the
outbox consistent: a claimed row comes back when its lease expires, and a target recorded
in ``delivered`` is never sent again. The one unavoidable duplicate is a send that the
service accepted just before the worker died, before the record was written; the lease
bounds how many such sends can be in flight (one per worker here, as rows are sent one
at a time).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from monitor.redact import redact
from monitor.store.dialects import dialect_insert
from monitor.store.models import AlertRow, ArticleRow, DigestRow

ALERT_STATUSES = ("pending", "sending", "held", "sent", "failed")
Row = TypeVar("Row", AlertRow, DigestRow)


def _due(model: type[AlertRow] | type[DigestRow], now: datetime) -> Any:
    return or_(
        and_(model.status == "pending", model.next_attempt_at <= now),
        and_(model.status == "sending", model.lease_until < now),
    )


def _claim(
    session: Session,
    model: type[Row],
    now: datetime,
    lease: timedelta,
    limit: int,
    token: str | None,
    *options: Any,
) -> list[Row]:
    statement = (
        select(model)
        .where(_due(model, now))
        .order_by(model.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=model)
        .options(*options)
    )
    rows = list(session.scalars(statement).unique())
    for row in rows:
        row.status, row.lease_until, row.lease_token = "sending", now + lease, token
    return rows


def claim_alerts(
    session: Session, now: datetime, lease: timedelta, limit: int = 100, token: str | None = None
) -> list[AlertRow]:
    """Lease due alerts (pending and due, or sending with an expired lease) to this worker.

    ``FOR UPDATE SKIP LOCKED`` lets several dispatchers share PostgreSQL; on SQLite the
    ``BEGIN IMMEDIATE`` transaction already serialises them. ``token`` marks the claim, so
    that a worker whose lease ran out cannot overwrite the state set by the next one.
    """
    options = (joinedload(AlertRow.article), joinedload(AlertRow.match))
    return _claim(session, AlertRow, now, lease, limit, token, *options)


def claim_digests(
    session: Session, now: datetime, lease: timedelta, limit: int = 10, token: str | None = None
) -> list[DigestRow]:
    """Lease due digests to this worker, like ``claim_alerts``."""
    return _claim(session, DigestRow, now, lease, limit, token)


def renew_lease(
    session: Session, model: type[AlertRow] | type[DigestRow], row_id: int, token: str, until: datetime
) -> bool:
    """Extend this worker's lease; ``False`` when the row was claimed by another worker since."""
    result = session.execute(
        update(model)
        .where(model.id == row_id, model.status == "sending", model.lease_token == token)
        .values(lease_until=until)
    )
    return bool(getattr(result, "rowcount", 0))


def record_delivered(
    session: Session, model: type[AlertRow] | type[DigestRow], row_id: int, key: str
) -> None:
    """Remember that target ``key`` accepted this row's message (written right after the send)."""
    row: AlertRow | DigestRow | None = (
        session.get(AlertRow, row_id, with_for_update=True)
        if model is AlertRow
        else session.get(DigestRow, row_id, with_for_update=True)
    )
    if row is not None and key not in row.delivered:
        row.delivered = sorted({*row.delivered, key})


def _finish(
    row: AlertRow | DigestRow,
    delivered: Sequence[str],
    error: str | None,
    now: datetime,
    retry_at: datetime | None,
    token: str | None,
) -> bool:
    """Apply one attempt's outcome to ``row``; ``False`` (nothing changed) if the lease was lost."""
    row.delivered = sorted(set(row.delivered) | set(delivered))
    if token is not None and (row.status != "sending" or row.lease_token != token):
        return False
    row.attempts += 1
    row.lease_until = row.lease_token = None
    error = redact(error) if error is not None else None  # stored errors are shown: mask as logs are
    if error is None:
        row.status, row.sent_at, row.last_error = "sent", now, None
    elif retry_at is None:
        row.status, row.last_error = "failed", error
    else:
        row.status, row.last_error, row.next_attempt_at = "pending", error, retry_at
    return True


def finish_alert(
    session: Session,
    alert_id: int,
    delivered: Sequence[str],
    error: str | None,
    now: datetime,
    retry_at: datetime | None,
    token: str | None = None,
) -> str:
    """Record one delivery attempt; returns the new status (sent, pending or failed)."""
    alert = session.get_one(AlertRow, alert_id, with_for_update=True)
    _finish(alert, delivered, error, now, retry_at, token)
    return alert.status


def finish_digest(
    session: Session,
    digest_id: int,
    delivered: Sequence[str],
    error: str | None,
    now: datetime,
    retry_at: datetime | None,
    token: str | None = None,
) -> str:
    """Record one digest attempt; its alerts become sent or failed with it."""
    digest = session.get_one(DigestRow, digest_id, with_for_update=True)
    if _finish(digest, delivered, error, now, retry_at, token) and digest.status in ("sent", "failed"):
        values: dict[str, Any] = {"status": digest.status, "last_error": digest.last_error}
        if digest.status == "sent":
            values["sent_at"] = now
        session.execute(update(AlertRow).where(AlertRow.digest_id == digest_id).values(**values))
    return digest.status


def release(row: AlertRow | DigestRow, until: datetime) -> None:
    """Give a claimed row back untouched, due again at ``until`` (quiet hours: not an attempt)."""
    row.status, row.next_attempt_at = "pending", until
    row.lease_until = row.lease_token = None


def give_back(session: Session, token: str) -> int:
    """Make every row still leased under ``token`` due again now, untouched (not an attempt).

    The rows of a claimed batch that were never sent (the worker was asked to stop, or the
    database went away mid-batch) would otherwise wait for their lease to run out.
    """
    released = 0
    for model in (AlertRow, DigestRow):
        result = session.execute(
            update(model)
            .where(model.status == "sending", model.lease_token == token)
            .values(status="pending", lease_until=None, lease_token=None)
        )
        released += int(getattr(result, "rowcount", 0) or 0)
    return released


def hold(alert: AlertRow, digest_key: str, now: datetime) -> None:
    """Park a claimed alert for the next window of the digest ``digest_key`` (a cron line)."""
    alert.status, alert.digest_key, alert.held_at = "held", digest_key, now
    alert.lease_until = alert.lease_token = None


def sent_recently(
    session: Session, rule: str, channel: str, since: datetime, exclude: Sequence[int] = ()
) -> int:
    """Alerts of ``rule`` sent on their own to ``channel`` since ``since``, or in flight now.

    ``exclude`` leaves out the caller's own claimed batch, which it counts itself.
    """
    statement = select(func.count()).where(
        AlertRow.rule == rule,
        AlertRow.channel == channel,
        AlertRow.digest_id.is_(None),
        AlertRow.id.not_in(exclude),
        or_(and_(AlertRow.status == "sent", AlertRow.sent_at >= since), AlertRow.status == "sending"),
    )
    return int(session.scalar(statement) or 0)


def held_windows(session: Session) -> list[tuple[str, str, datetime]]:
    """Each (channel, digest key) that has held alerts, with the oldest ``held_at``."""
    rows = session.execute(
        select(AlertRow.channel, AlertRow.digest_key, func.min(AlertRow.held_at))
        .where(AlertRow.status == "held", AlertRow.digest_id.is_(None))
        .group_by(AlertRow.channel, AlertRow.digest_key)
    )
    return [(channel, key, oldest) for channel, key, oldest in rows.all() if key is not None and oldest]


def close_window(
    session: Session, channel: str, digest_key: str, window_end: datetime, now: datetime, due: datetime
) -> int | None:
    """Gather the held alerts of one closed window into a new digest; returns its id.

    ``None`` when another worker already built this window's digest (the unique
    constraint decides) or when nothing is left to gather: an empty window sends nothing.
    """
    held = (
        select(AlertRow.id)
        .where(
            AlertRow.status == "held",
            AlertRow.digest_id.is_(None),
            AlertRow.channel == channel,
            AlertRow.digest_key == digest_key,
            AlertRow.held_at < window_end,
        )
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(held))
    if not ids:
        return None
    digest_id = session.scalar(
        dialect_insert(session, DigestRow)
        .values(
            channel=channel,
            schedule=digest_key,
            window_end=window_end,
            status="pending",
            attempts=0,
            next_attempt_at=due,
            delivered=[],
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(DigestRow.id)
    )
    if digest_id is None:
        return None
    session.execute(update(AlertRow).where(AlertRow.id.in_(ids)).values(digest_id=digest_id))
    return int(digest_id)


def digest_alerts(session: Session, digest_id: int) -> list[AlertRow]:
    """The alerts of one digest, with article and match, in rule then arrival order."""
    statement = (
        select(AlertRow)
        .where(AlertRow.digest_id == digest_id)
        .options(joinedload(AlertRow.article), joinedload(AlertRow.match))
        .order_by(AlertRow.rule, AlertRow.id)
    )
    return list(session.scalars(statement).unique())


def also_reported_by(session: Session, story_id: int, article_id: int) -> list[ArticleRow]:
    """The other articles of a story (syndicated copies, rewrites), oldest first."""
    statement = (
        select(ArticleRow)
        .where(ArticleRow.story_id == story_id, ArticleRow.id != article_id)
        .order_by(ArticleRow.fetched_at, ArticleRow.id)
    )
    return list(session.scalars(statement))


def retry_failed_alerts(session: Session, now: datetime) -> int:
    """Put every failed alert (and failed digest) back in the queue; returns how many alerts.

    ``attempts`` is kept (the history shows every try); ``retried_after`` marks where the new
    budget of ``max_attempts`` starts.
    """
    in_digest = and_(AlertRow.status == "failed", AlertRow.digest_id.is_not(None))
    digested = int(session.scalar(select(func.count()).where(in_digest)) or 0)
    session.execute(update(AlertRow).where(in_digest).values(status="held", last_error=None))
    session.execute(
        update(DigestRow)
        .where(DigestRow.status == "failed")
        .values(status="pending", retried_after=DigestRow.attempts, next_attempt_at=now)
    )
    alone = session.execute(
        update(AlertRow)
        .where(AlertRow.status == "failed", AlertRow.digest_id.is_(None))
        .values(status="pending", retried_after=AlertRow.attempts, next_attempt_at=now)
    )
    return int(getattr(alone, "rowcount", 0) or 0) + digested
