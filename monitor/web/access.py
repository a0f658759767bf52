"""FastAPI dependencies that decide who is asking and whether an action may run.

The policy is ``monitor.web.security``'s; these apply it to a request: ``page_user`` (a
login redirect when missing), ``api_user`` (401), ``feed_user`` (``?token=`` accepted too)
and ``checked_action`` (the CSRF check of every POST, skipped only for bearer tokens).
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from monitor.store.desk import token_user
from monitor.web.desk import desk_of
from monitor.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    csrf_matches,
    session_user,
)


class LoginRequired(Exception):
    """A page was asked for without a login; the app answers with a redirect to ``/login``."""


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _user(request: Request, token: str | None) -> str | None:
    desk = desk_of(request)
    if token:
        with desk.database.transaction() as session:
            name = token_user(session, token)
        if name:
            request.state.by_token = True
            return name
    if desk.settings.open:
        return "local"
    return session_user(request.cookies.get(SESSION_COOKIE), desk.settings.secret)


def page_user(request: Request) -> str:
    """The signed-in user of a page (``local`` on an open desk); else a redirect to the login."""
    user = _user(request, _bearer(request))
    if user is None:
        raise LoginRequired
    request.state.user = user
    return user


def api_user(request: Request) -> str:
    """The user of an API call: a bearer token, a session cookie, or the open desk; else 401."""
    user = _user(request, _bearer(request))
    if user is None:
        raise HTTPException(
            401, "log in or send `Authorization: Bearer TOKEN`", {"WWW-Authenticate": "Bearer"}
        )
    request.state.user = user
    return user


def feed_user(request: Request) -> str:
    """The user of a feed: also ``?token=`` (feed readers cannot send headers); else 401."""
    user = _user(request, _bearer(request) or request.query_params.get("token"))
    if user is None:
        raise HTTPException(401, "add ?token=TOKEN to the feed address (`monitor web-token NAME`)")
    return user


async def checked_action(request: Request) -> None:
    """Refuse a POST whose CSRF value does not match the browser's cookie (403).

    The value comes in the form field ``csrf_token`` or the ``X-CSRF-Token`` header. A
    request authenticated with a bearer token is exempt: a browser never adds one itself.
    """
    if getattr(request.state, "by_token", False):
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not csrf_matches(request.cookies.get(CSRF_COOKIE), sent):
        raise HTTPException(403, "CSRF check failed: reload the page and try again")
