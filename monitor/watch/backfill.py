"""Backfill: run one rule over the stored archive, to tune it before it goes live.

Nothing is fetched: the articles come from the database as they were parsed. With
``notify`` the hits are recorded like live matches (match + outbox rows in one
transaction, one alert per story and channel), so the dispatcher sends them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select

from monitor.store.database import Database, save_match
from monitor.store.models import ArticleRow
from monitor.watch.rules import Rule, RuleSet

BATCH = 500


@dataclass(frozen=True, slots=True)
class BackfillHit:
    """One stored article the rule matches."""

    day: date
    title: str
    url: str
    snippet: str


@dataclass(slots=True)
class BackfillReport:
    """Hits per day (by publication date, else fetch date) and the hits themselves."""

    scanned: int = 0
    per_day: Counter[date] = field(default_factory=Counter)
    hits: list[BackfillHit] = field(default_factory=list)
    alerts: int = 0


def backfill(
    database: Database,
    rules: RuleSet,
    rule: Rule,
    since: datetime,
    *,
    notify_channels: Sequence[str] | None = None,
    now: Callable[[], datetime] | None = None,
    until: datetime | None = None,
) -> BackfillReport:
    """Match ``rule`` against every article stored since ``since`` (and before ``until``, if given).

    ``notify_channels``: when given, record each hit as a match with alerts to these
    channel tags (``None``: a dry run, nothing written).
    """
    single = RuleSet([rule], rules.entities)
    report = BackfillReport()
    for row in _articles_since(database, since, until):
        report.scanned += 1
        article = row.article()
        found = single.match(article)
        if not found:
            continue
        hit = found[0]
        day = (row.published_at or row.fetched_at).date()
        report.per_day[day] += 1
        report.hits.append(BackfillHit(day, row.title, row.url, hit.snippet))
        if notify_channels is not None:
            stamp = now() if now else datetime.now(since.tzinfo)
            with database.transaction() as session:
                stored = session.get_one(ArticleRow, row.id)
                report.alerts += save_match(
                    session, stored, rule.name, hit.terms, hit.snippet, notify_channels, stamp
                )
    return report


def _articles_since(
    database: Database, since: datetime, until: datetime | None = None
) -> Iterator[ArticleRow]:
    """Stored articles published (or, without a date, fetched) since ``since``, in batches."""
    when = func.coalesce(ArticleRow.published_at, ArticleRow.fetched_at)
    last_id = 0
    while True:
        statement = select(ArticleRow).where(ArticleRow.id > last_id, when >= since)
        if until is not None:
            statement = statement.where(when < until)
        with database.transaction() as session:
            rows = list(session.scalars(statement.order_by(ArticleRow.id).limit(BATCH)))
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
