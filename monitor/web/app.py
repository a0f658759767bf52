"""The desk's application factory: ``create_app(config, database, settings)``.

FastAPI builds the routes and the OpenAPI description of the JSON API; Jinja2 renders the
pages from ``templates/``. The factory takes everything it needs as arguments (nothing is
read from the environment here), so tests, the benchmark and ``monitor web`` build the
same app. Rules are read as the crawl reads them (``monitor.watch.state.running_rules``)
and read again when a rules file changes.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.trustedhost import TrustedHostMiddleware

from monitor import __version__
from monitor.config.model import Config
from monitor.errors import ConfigError
from monitor.store.database import Database
from monitor.store.desk import has_tokens
from monitor.watch.rules import RuleSet
from monitor.watch.state import running_rules
from monitor.web import render
from monitor.web.security import CSRF_COOKIE, check_password_hash, is_loopback, new_csrf

HERE = Path(__file__).parent


@dataclass(frozen=True, slots=True)
class WebSettings:
    """How the desk is served: where it listens, the login's password hash, the cookie key."""

    host: str = "127.0.0.1"
    port: int = 8080
    password_hash: str | None = None
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    feed_id_base: str = "tag:monitor,2026:"  # the Atom ids' prefix: never changes, whatever the address

    @property
    def open(self) -> bool:
        """No login: bound to loopback and no password configured."""
        return is_loopback(self.host) and not self.password_hash

    @property
    def address(self) -> str:
        """The desk's base URL, as printed at start."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


class RuleBook:
    """The loaded rules, read again when a rules file changes (by modification time)."""

    def __init__(self, config: Config, database: Database) -> None:
        self._config = config
        self._database = database
        self._stamp: tuple[tuple[str, float], ...] | None = None
        self._rules = RuleSet()

    def _files(self) -> tuple[tuple[str, float], ...]:
        found: list[tuple[str, float]] = []
        for path in self._config.rule_paths:
            paths = sorted(path.glob("*.y*ml")) if path.is_dir() else [path]
            found.extend((str(item), item.stat().st_mtime) for item in paths if item.exists())
        return tuple(found)

    def current(self) -> RuleSet:
        """The rules as the files are now."""
        stamp = self._files()
        if stamp != self._stamp:
            self._rules, _errors = running_rules(self._database, self._config.rule_paths)
            self._stamp = stamp
        return self._rules


@dataclass(slots=True)
class Desk:
    """What every route needs: the configuration, the database, the rules, the templates."""

    config: Config
    database: Database
    settings: WebSettings
    rules: RuleBook
    templates: Jinja2Templates
    _cache: dict[str, tuple[float, Any]] = field(default_factory=dict)

    def cached(self, key: str, seconds: float, compute: Callable[[], Any]) -> Any:
        """``compute()``, kept for ``seconds`` (the inbox's filter choices: distinct values of big tables)."""
        now = time.monotonic()
        found = self._cache.get(key)
        if found is None or now - found[0] > seconds:
            found = (now, compute())
            self._cache[key] = found
        return found[1]

    def page(
        self, request: Request, name: str, context: dict[str, Any], status_code: int = 200
    ) -> HTMLResponse:
        """Render ``templates/name`` with the CSRF value and the user the request carries."""
        values = {"csrf": request.state.csrf, "user": getattr(request.state, "user", None), **context}
        return self.templates.TemplateResponse(request, name, values, status_code=status_code)


def desk_of(request: Request) -> Desk:
    """The ``Desk`` of the app serving ``request``."""
    desk: Desk = request.app.state.desk
    return desk


def create_app(config: Config, database: Database, settings: WebSettings | None = None) -> FastAPI:
    """The desk for ``config``'s database; ``ConfigError`` if it would be open beyond loopback."""
    settings = settings or WebSettings()
    if settings.password_hash:
        check_password_hash(settings.password_hash)
    if not is_loopback(settings.host) and not settings.password_hash:
        with database.transaction() as session:
            tokens = has_tokens(session)
        if not tokens:
            raise ConfigError(
                f"refusing to serve the desk on {settings.host} without a login: set a password hash "
                "(`monitor web-password`) or issue a token (`monitor web-token NAME`), or listen on 127.0.0.1"
            )
    app = FastAPI(
        title="monitor desk API",
        version=__version__,
        description="Matches, stories, rules, sources and alerts of the media monitor.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["snippet"] = render.snippet_html
    templates.env.filters["plain"] = render.snippet_text
    templates.env.filters["when"] = lambda value: value.strftime("%Y-%m-%d %H:%M") if value else "-"
    app.state.desk = Desk(config, database, settings, RuleBook(config, database), templates)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def csrf_cookie(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Give every browser a CSRF value (read by the pages' forms) the first time it comes."""
        existing = request.cookies.get(CSRF_COOKIE)
        request.state.csrf = existing or new_csrf()
        response = await call_next(request)
        if not existing:
            response.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=True, samesite="strict")
        return response

    if is_loopback(settings.host):  # DNS rebinding: only this machine's names reach a loopback desk
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost", "[::1]", "::1"])

    from monitor.web import access, admin, api, feeds, pages  # the routes need ``Desk`` from here

    app.include_router(pages.router)
    app.include_router(admin.router)
    app.include_router(feeds.router)
    app.include_router(api.router)

    @app.exception_handler(access.LoginRequired)
    async def login_required(request: Request, exc: access.LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    return app
