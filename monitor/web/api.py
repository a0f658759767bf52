"""The desk's JSON API under ``/api``: matches, stories, rules, sources, alerts, search.

FastAPI builds it from the pydantic models below and describes it in OpenAPI at
``/api/openapi.json``; ``/api/docs`` lists the operations as a plain page (the usual
Swagger UI loads its scripts from a CDN, which a desk on an intranet cannot reach).
Actions take the same CSRF check as the pages unless called with a bearer token.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from monitor.ops.status import source_statuses
from monitor.redact import redact
from monitor.store import desk as queries
from monitor.watch.search import SearchError, search
from monitor.web.access import api_user, checked_action
from monitor.web.desk import desk_of
from monitor.web.pages import STORY_ACTIONS, day

router = APIRouter(prefix="/api", dependencies=[Depends(api_user)])
Act = [Depends(checked_action)]


class ArticleOut(BaseModel):
    """A stored article, without its body."""

    id: int
    url: str
    title: str
    source: str | None
    site_name: str | None
    language: str | None
    published_at: datetime | None
    fetched_at: datetime
    story_id: int


class MatchOut(BaseModel):
    """A rule matched an article; ``snippet`` marks the hits with ``**double stars**``."""

    id: int
    rule: str
    article_id: int
    snippet: str
    created_at: datetime
    irrelevant: bool


class StoryOut(BaseModel):
    """A story: the original article first, its copies, the matches."""

    id: int
    title: str
    last_match: datetime
    read: bool
    muted: bool
    rules: list[str]
    articles: list[ArticleOut]
    matches: list[MatchOut]


class RuleOut(BaseModel):
    """A loaded rule and its feedback figures."""

    name: str
    query: str
    channels: list[str]
    mode: str
    matches: int
    irrelevant: int
    per_day: list[tuple[str, int]] | None = None


class SourceOut(BaseModel):
    """One row of ``monitor status``."""

    name: str
    kind: str
    state: str
    last_success: datetime | None
    last_error: str | None
    failures: int
    per_day: float
    next_run: datetime | None
    pages_judged: int  # the newest article pages the shares below are of (up to 50)
    missing: dict[str, float]  # body, date, author -> share of those pages without it
    extraction: str  # ok, or degraded: the operator was told the shares jumped


class AlertOut(BaseModel):
    """One outbox row; the error text has its secrets masked."""

    id: int
    rule: str
    channel: str
    status: str
    attempts: int
    article_id: int
    story_id: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


class SearchOut(BaseModel):
    """Search hits, newest first; pass ``more_before`` as ``before`` for the next page."""

    query: str
    hits: list[MatchlessHit]
    scanned: int
    indexed: bool
    more_before: int | None
    seconds: float


class MatchlessHit(BaseModel):
    """An article the query matches and the passage."""

    article: ArticleOut
    snippet: str


class Mark(BaseModel):
    """A story action."""

    action: Literal["read", "unread", "mute", "unmute"]


class Feedback(BaseModel):
    """Whether a match is irrelevant."""

    irrelevant: bool = True


SearchOut.model_rebuild()


def _article(row: Any) -> ArticleOut:
    return ArticleOut.model_validate(row, from_attributes=True)


def _story(summary: queries.StorySummary) -> StoryOut:
    return StoryOut(
        id=summary.story_id,
        title=summary.title,
        last_match=summary.last_match,
        read=summary.read,
        muted=summary.muted,
        rules=summary.rules,
        articles=[_article(article) for article in summary.articles],
        matches=[
            MatchOut(
                id=m.match_id,
                rule=m.rule,
                article_id=m.article_id,
                snippet=m.snippet,
                created_at=m.created_at,
                irrelevant=m.irrelevant,
            )
            for m in summary.matches
        ],
    )


@router.get("/stories", response_model=list[StoryOut])
def stories(
    request: Request,
    rule: str | None = None,
    source: str | None = None,
    language: str | None = None,
    since: str | None = None,
    until: str | None = None,
    state: Literal["new", "all", "muted"] = "new",
    limit: int = 50,
) -> list[StoryOut]:
    """The inbox: stories with matches, newest match first (dates are YYYY-MM-DD)."""
    wanted = queries.InboxFilter(
        rule, source, language, day(since), day(until, end=True), state, min(limit, 500)
    )
    with desk_of(request).database.transaction() as session:
        return [_story(summary) for summary in queries.inbox(session, wanted)]


@router.get("/stories/{story_id}", response_model=StoryOut)
def story(request: Request, story_id: int) -> StoryOut:
    """One story with all its articles and matches."""
    with desk_of(request).database.transaction() as session:
        found = queries.story(session, story_id)
    if found is None:
        raise HTTPException(404, "no such story")
    return _story(found)


@router.post("/stories/{story_id}/mark", dependencies=Act, status_code=204)
def mark(request: Request, story_id: int, body: Mark) -> Response:
    """Mark a story read or unread, mute or unmute it."""
    with desk_of(request).database.transaction() as session:
        if queries.story(session, story_id) is None:
            raise HTTPException(404, "no such story")
        queries.mark_story(session, story_id, datetime.now(UTC), **STORY_ACTIONS[body.action])
    return Response(status_code=204)


@router.get("/matches", response_model=list[MatchOut])
def matches(request: Request, rule: str | None = None, limit: int = 50) -> list[MatchOut]:
    """The newest matches, of one rule or all."""
    with desk_of(request).database.transaction() as session:
        rows = queries.recent_matches(session, rule, min(limit, 500))
    return [
        MatchOut(
            id=m.id,
            rule=m.rule,
            article_id=m.article_id,
            snippet=m.snippet,
            created_at=m.created_at,
            irrelevant=flag,
        )
        for m, _article_row, flag in rows
    ]


@router.post("/matches/{match_id}/feedback", dependencies=Act, status_code=204)
def feedback(request: Request, match_id: int, body: Feedback) -> Response:
    """Mark a match irrelevant, or withdraw the mark."""
    with desk_of(request).database.transaction() as session:
        if not queries.mark_irrelevant(session, match_id, datetime.now(UTC), body.irrelevant):
            raise HTTPException(404, "no such match")
    return Response(status_code=204)


@router.get("/rules", response_model=list[RuleOut])
def rules(request: Request) -> list[RuleOut]:
    """Every loaded rule, with its match count and irrelevant marks."""
    desk = desk_of(request)
    with desk.database.transaction() as session:
        counts, noise = queries.rule_counts(session)
    return [
        RuleOut(
            name=r.name,
            query=r.query,
            channels=list(r.channels),
            mode=r.mode,
            matches=counts.get(r.name, 0),
            irrelevant=noise.get(r.name, 0),
        )
        for r in desk.rules.current()
    ]


@router.get("/rules/{name}", response_model=RuleOut)
def rule(request: Request, name: str) -> RuleOut:
    """One rule, with its matches per day over the last 30 days."""
    desk = desk_of(request)
    found = desk.rules.current().get(name)
    if found is None:
        raise HTTPException(404, f"no rule named {name!r}")
    with desk.database.transaction() as session:
        figures = queries.rule_figures(session, name, datetime.now(UTC))
    return RuleOut(
        name=found.name,
        query=found.query,
        channels=list(found.channels),
        mode=found.mode,
        matches=figures.matches,
        irrelevant=figures.irrelevant,
        per_day=figures.per_day,
    )


@router.get("/sources", response_model=list[SourceOut])
def sources(request: Request) -> list[SourceOut]:
    """``monitor status``: each configured source's health."""
    desk = desk_of(request)
    with desk.database.transaction() as session:
        rows = source_statuses(session, desk.config, datetime.now(UTC))
    return [
        SourceOut(
            name=row.name,
            kind=row.kind,
            state=row.state,
            last_success=row.last_success,
            last_error=redact(row.last_error) if row.last_error else None,
            failures=row.failures,
            per_day=row.per_day,
            next_run=row.next_run,
            pages_judged=row.pages_judged,
            missing=row.missing,
            extraction=row.extraction,
        )
        for row in rows
    ]


@router.get("/alerts", response_model=list[AlertOut])
def alerts(request: Request, status: str | None = None, limit: int = 100) -> list[AlertOut]:
    """The outbox, newest first, optionally of one status (pending, sending, held, sent, failed)."""
    with desk_of(request).database.transaction() as session:
        rows = queries.alerts_by_state(session, status, min(limit, 1000))
        return [
            AlertOut(
                id=a.id,
                rule=a.rule,
                channel=a.channel,
                status=a.status,
                attempts=a.attempts,
                article_id=a.article_id,
                story_id=a.story_id,
                created_at=a.created_at,
                sent_at=a.sent_at,
                last_error=redact(a.last_error) if a.last_error else None,
            )
            for a in rows
        ]


@router.post("/alerts/{alert_id}/retry", dependencies=Act, status_code=204)
def retry_alert(request: Request, alert_id: int) -> Response:
    """Queue a failed alert again; 409 if it is not failed."""
    with desk_of(request).database.transaction() as session:
        if not queries.retry_alert(session, alert_id, datetime.now(UTC)):
            raise HTTPException(409, "only a failed alert can be retried")
    return Response(status_code=204)


@router.get("/search", response_model=SearchOut)
def search_archive(
    request: Request,
    q: str,
    source: str | None = None,
    language: str | None = None,
    days: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> SearchOut:
    """The rule language over the stored articles (400 with the query error when it does not parse)."""
    desk = desk_of(request)
    since = datetime.now(UTC) - timedelta(days=days) if days else None
    try:
        with desk.database.transaction() as session:
            result = search(
                session,
                q,
                desk.rules.current().entities,
                source=source,
                language=language,
                since=since,
                before=before,
                limit=min(limit, 200),
            )
            hits = [MatchlessHit(article=_article(hit.article), snippet=hit.snippet) for hit in result.hits]
    except SearchError as exc:
        raise HTTPException(400, str(exc)) from None
    return SearchOut(
        query=q,
        hits=hits,
        scanned=result.scanned,
        indexed=result.indexed,
        more_before=result.more_before,
        seconds=round(result.seconds, 4),
    )


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def docs(request: Request) -> Response:
    """The operations of the OpenAPI description, as a page."""
    schema = request.app.openapi()
    operations = [
        (method.upper(), path, details.get("summary", ""), details.get("description", ""))
        for path, methods in schema["paths"].items()
        for method, details in methods.items()
    ]
    return desk_of(request).page(request, "api.html", {"operations": operations})
