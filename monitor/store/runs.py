"""The crawl side's records: crawl runs, their failures, feed validators and source health.

SQLAlchemy 2 does the work, in the same database and sessions as ``monitor.store.database``
(``Database.transaction()``). The parent process opens a run before it starts the crawl
child and closes it if the child dies; the child fills in its figures and failures.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from monitor.article import clean_text
from monitor.store.models import ArticleRow, CrawlFailure, CrawlRun, FetchValidator, SourceHealth


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed request as the spider saw it: the URL, a short reason code, a sentence."""

    url: str
    reason: str
    detail: str
    entry: bool = False


@dataclass(frozen=True, slots=True)
class Validators:
    """What a conditional GET sends back: the ETag and Last-Modified last served."""

    etag: str | None
    last_modified: str | None


@dataclass(frozen=True, slots=True)
class RunEnd:
    """How a crawl ended, as its pipeline saw it: what ``close_run`` records of it."""

    status: str  # ok, partial, failed, skipped or interrupted
    error: str | None
    pages: int
    stored: int
    failed: int
    retry_after: int | None
    validators: dict[str, Validators]  # served by the source's URLs; kept only after an ok crawl


def start_run(session: Session, source: str, now: datetime) -> int:
    """Open a crawl-run record; returns its id."""
    run = CrawlRun(source=source, started_at=now, status="running")
    session.add(run)
    session.flush()
    return run.id


def begin_run(session: Session, run_id: int, now: datetime) -> None:
    """Set the run's start to when the crawl process began crawling (the parent opened it earlier)."""
    session.get_one(CrawlRun, run_id).started_at = now


def finish_run(
    session: Session,
    run_id: int,
    now: datetime,
    *,
    pages: int,
    stored: int,
    failed: int,
    error: str | None,
    status: str,
    retry_after: int | None = None,
) -> None:
    """Close a crawl-run record: ``status`` is ok, partial (some pages failed) or failed."""
    run = session.get_one(CrawlRun, run_id)
    run.finished_at, run.pages_fetched, run.articles_stored = now, pages, stored
    run.pages_failed, run.status, run.error, run.retry_after = failed, status, error, retry_after


def close_run(session: Session, run_id: int, source: str, url: str, end: RunEnd, now: datetime) -> None:
    """Record how run ``run_id`` of ``source`` ended, and the validators of its conditional GETs.

    Validators are kept only after a crawl without failures: a page that failed must not
    hide behind a 304 next time (the source's ``url`` is then fetched in full).
    """
    if end.status == "ok":
        save_validators(session, source, end.validators, now)
    else:
        forget_validators(session, [url])
    finish_run(
        session,
        run_id,
        now,
        pages=end.pages,
        stored=end.stored,
        failed=end.failed,
        error=end.error,
        status=end.status,
        retry_after=end.retry_after,
    )


def get_run(session: Session, run_id: int) -> CrawlRun | None:
    """The crawl run ``run_id``."""
    return session.get(CrawlRun, run_id)


def record_failures(
    session: Session, run_id: int, source: str, failures: Iterable[Failure], now: datetime
) -> None:
    """Store each failed request of a run with its reason; hostile text is cleaned (``clean_text``)."""
    session.add_all(
        CrawlFailure(
            run_id=run_id,
            source=source,
            url=clean_text(failure.url)[:2048],
            reason=failure.reason[:32],
            detail=clean_text(failure.detail),
            entry=failure.entry,
            created_at=now,
        )
        for failure in failures
    )


def validators_for(session: Session, urls: Iterable[str]) -> dict[str, Validators]:
    """The stored validators of each URL in ``urls`` that has some."""
    rows = session.scalars(select(FetchValidator).where(FetchValidator.url.in_(list(urls))))
    return {row.url: Validators(row.etag, row.last_modified) for row in rows}


def save_validators(session: Session, source: str, found: dict[str, Validators], now: datetime) -> None:
    """Remember validators for the next conditional GET; a URL served without any forgets them."""
    for url, validators in found.items():
        row = session.get(FetchValidator, url)
        if validators.etag is None and validators.last_modified is None:
            if row is not None:
                session.delete(row)
            continue
        if row is None:
            row = FetchValidator(url=url, source=source)
            session.add(row)
        row.etag, row.last_modified, row.updated_at = validators.etag, validators.last_modified, now


def forget_validators(session: Session, urls: Iterable[str]) -> None:
    """Drop validators, so the next crawl fetches these URLs in full."""
    session.execute(delete(FetchValidator).where(FetchValidator.url.in_(list(urls))))


def health_of(session: Session, source: str) -> SourceHealth:
    """The health row of ``source``, created (all clear) on first use."""
    row = session.get(SourceHealth, source)
    if row is None:
        row = SourceHealth(source=source, consecutive_failures=0, alert_state="ok", quality_state="ok")
        session.add(row)
        session.flush()
    return row


def all_health(session: Session) -> dict[str, SourceHealth]:
    """Every source's health row, by source name."""
    return {row.source: row for row in session.scalars(select(SourceHealth))}


def article_times(session: Session, source: str, limit: int = 50) -> list[datetime]:
    """When the newest ``limit`` articles of ``source`` were published (else first seen), newest first."""
    when = func.coalesce(ArticleRow.published_at, ArticleRow.fetched_at)
    rows = session.execute(
        select(ArticleRow.published_at, ArticleRow.fetched_at)
        .where(ArticleRow.source == source)
        .order_by(when.desc())
        .limit(limit)
    )
    times = [published or fetched for published, fetched in rows]
    return sorted((time for time in times if time is not None), reverse=True)


def stored_since(session: Session, source: str, since: datetime) -> int:
    """How many articles of ``source`` were stored since ``since`` (a killed crawl's count)."""
    statement = select(func.count()).where(ArticleRow.source == source, ArticleRow.fetched_at >= since)
    return int(session.scalar(statement.select_from(ArticleRow)) or 0)


def articles_since(session: Session, since: datetime) -> dict[str, int]:
    """How many articles each source stored since ``since``."""
    rows = session.execute(
        select(ArticleRow.source, func.count())
        .where(ArticleRow.fetched_at >= since)
        .group_by(ArticleRow.source)
    )
    return {str(source): int(count) for source, count in rows if source is not None}


def recent_runs(session: Session, source: str, limit: int = 10) -> Sequence[CrawlRun]:
    """The newest crawl runs of ``source``, newest first."""
    return session.scalars(
        select(CrawlRun).where(CrawlRun.source == source).order_by(CrawlRun.id.desc()).limit(limit)
    ).all()


def last_complete(session: Session, source: str) -> datetime | None:
    """When the last crawl of ``source`` that had no failure at all started."""
    row = session.get(SourceHealth, source)
    return row.last_complete_at if row is not None else None


def extraction_record(
    session: Session, source: str, no_article: Sequence[str], limit: int
) -> list[tuple[bool, bool, bool]]:
    """What the newest ``limit`` article pages of ``source`` gave, newest first.

    Each page is ``(body, date, author)``: a stored article has a body, and a date and an
    author when it has them; a page recorded as a failure for one of the ``no_article``
    reasons gave nothing.
    """
    articles = session.execute(
        select(ArticleRow.fetched_at, ArticleRow.published_at.is_not(None), ArticleRow.authors)
        .where(ArticleRow.source == source)
        .order_by(ArticleRow.fetched_at.desc())
        .limit(limit)
    ).all()
    failures = session.execute(
        select(CrawlFailure.created_at)
        .where(CrawlFailure.source == source, CrawlFailure.reason.in_(no_article))
        .order_by(CrawlFailure.created_at.desc())
        .limit(limit)
    ).all()
    pages = [(when, (True, bool(dated), bool(authors))) for when, dated, authors in articles]
    pages += [(when, (False, False, False)) for (when,) in failures]
    pages.sort(key=lambda page: page[0], reverse=True)
    return [page for _, page in pages[:limit]]
