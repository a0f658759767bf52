"""The desk's reading pages and their actions: inbox, story, article, search, login.

Server-rendered with Jinja2; every action is an HTML form POST that carries the CSRF
value and answers with a redirect back (303), so the pages work without JavaScript and
the browser's back button behaves.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from monitor.store import desk as queries
from monitor.store.models import ArticleRow
from monitor.watch.rules import explain
from monitor.watch.search import SearchError, search
from monitor.web import render
from monitor.web.access import checked_action, page_user
from monitor.web.desk import desk_of
from monitor.web.security import SESSION_COOKIE, sign_session, verify_password

router = APIRouter(include_in_schema=False)
FACETS_SECONDS = 300  # the inbox's rule, source and language choices are read again after this
Page = [Depends(page_user)]
Action = [Depends(page_user), Depends(checked_action)]
STORY_ACTIONS = {
    "read": {"read": True},
    "unread": {"read": False},
    "mute": {"muted": True},
    "unmute": {"muted": False},
}


def day(text: str | None, end: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` filter as a UTC moment (the day's end when ``end``); ``None`` if blank or bad."""
    if not text:
        return None
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        return None
    moment = datetime.combine(parsed, time.min, tzinfo=UTC)
    return moment + timedelta(days=1) if end else moment


def back(target: str | None, fallback: str = "/") -> RedirectResponse:
    """A 303 to ``target`` when it is a path of this site (never another host), else ``fallback``."""
    safe = target if target and target.startswith("/") and not target.startswith(("//", "/\\")) else fallback
    return RedirectResponse(safe, status_code=303)


@router.get("/", response_class=HTMLResponse, dependencies=Page)
def inbox(
    request: Request,
    rule: str | None = None,
    source: str | None = None,
    language: str | None = None,
    since: str | None = None,
    until: str | None = None,
    state: str = "new",
) -> Response:
    """New matches grouped by story, filtered by rule, source, language and match date."""
    desk = desk_of(request)
    wanted = queries.InboxFilter(
        rule or None, source or None, language or None, day(since), day(until, end=True), state
    )
    with desk.database.transaction() as session:
        stories = queries.inbox(session, wanted)
        rules, sources, languages = desk.cached("facets", FACETS_SECONDS, lambda: queries.facets(session))
    filters = {
        "rule": rule,
        "source": source,
        "language": language,
        "since": since,
        "until": until,
        "state": state,
    }
    return desk.page(
        request,
        "inbox.html",
        {"stories": stories, "filters": filters, "rules": rules, "sources": sources, "languages": languages},
    )


@router.post("/stories/{story_id}/mark", dependencies=Action)
def mark_story(
    request: Request, story_id: int, action: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> Response:
    """Mark a story read or unread, mute or unmute it (a muted story sends no more alerts)."""
    if action not in STORY_ACTIONS:
        raise HTTPException(400, f"unknown action {action!r}")
    with desk_of(request).database.transaction() as session:
        if queries.story(session, story_id) is None:
            raise HTTPException(404, "no such story")
        queries.mark_story(session, story_id, datetime.now(UTC), **STORY_ACTIONS[action])
    return back(next)


@router.post("/matches/{match_id}/feedback", dependencies=Action)
def match_feedback(
    request: Request,
    match_id: int,
    irrelevant: Annotated[bool, Form()] = True,
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Mark a match irrelevant (or withdraw the mark): feedback shown on its rule's page."""
    with desk_of(request).database.transaction() as session:
        if not queries.mark_irrelevant(session, match_id, datetime.now(UTC), irrelevant):
            raise HTTPException(404, "no such match")
    return back(next)


@router.get("/stories/{story_id}", response_class=HTMLResponse, dependencies=Page)
def story_page(request: Request, story_id: int) -> Response:
    """One story: the original, every copy, every match with its passage."""
    desk = desk_of(request)
    with desk.database.transaction() as session:
        found = queries.story(session, story_id)
    if found is None:
        raise HTTPException(404, "no such story")
    return desk.page(request, "story.html", {"story": found})


@router.get("/articles/{article_id}", response_class=HTMLResponse, dependencies=Page)
def article_page(request: Request, article_id: int) -> Response:
    """An article's stored fields, its body with hits marked, and which rules matched and why."""
    desk = desk_of(request)
    with desk.database.transaction() as session:
        row = session.get(ArticleRow, article_id)
        if row is None:
            raise HTTPException(404, "no such article")
        stored = queries.article_matches(session, article_id)
    stored_rules = {match.rule for match, _ in stored}
    found = [m for m in desk.rules.current().match(row.article()) if m.rule.name in stored_rules]
    ranges: dict[str, list[tuple[int, int]]] = {"title": [], "body": []}
    for match in found:
        for hit in match.hits:
            if hit.field in ranges:
                ranges[hit.field].append((hit.start, hit.end))
    context = {
        "article": row,
        "title": render.marked(row.title, ranges["title"]),
        "body": render.marked(row.body, ranges["body"]),
        "stored": stored,
        "why": {match.rule.name: explain(match) for match in found},
    }
    return desk.page(request, "article.html", context)


@router.get("/search", response_class=HTMLResponse, dependencies=Page)
def search_page(
    request: Request,
    q: str = "",
    source: str | None = None,
    language: str | None = None,
    since: str | None = None,
    until: str | None = None,
    before: int | None = None,
) -> Response:
    """The rule language over the stored archive: full-text pre-filter, then the matcher."""
    desk = desk_of(request)
    result, error = None, None
    if q.strip():
        try:
            with desk.database.transaction() as session:
                result = search(
                    session,
                    q,
                    desk.rules.current().entities,
                    source=source or None,
                    language=language or None,
                    since=day(since),
                    until=day(until, end=True),
                    before=before,
                )
        except SearchError as exc:
            error = str(exc)
    form = {"q": q, "source": source, "language": language, "since": since, "until": until}
    return desk.page(request, "search.html", {"result": result, "error": error, "form": form})


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form (only used when the desk is not open)."""
    return desk_of(request).page(request, "login.html", {"next": next, "failed": False})


@router.post("/login", dependencies=[Depends(checked_action)])
def login(
    request: Request,
    password: Annotated[str, Form()],
    user: Annotated[str, Form()] = "analyst",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password against the configured hash; a signed session cookie on success."""
    desk = desk_of(request)
    stored = desk.settings.password_hash
    if not stored or not verify_password(password, stored):
        return desk.page(request, "login.html", {"next": next, "failed": True}, status_code=401)
    response = back(next)
    response.set_cookie(
        SESSION_COOKIE,
        sign_session(user.strip() or "analyst", desk.settings.secret),
        httponly=True,
        samesite="lax",
    )
    return response


@router.post("/logout", dependencies=[Depends(checked_action)])
def logout() -> Response:
    """Forget the session cookie."""
    response = back("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response
