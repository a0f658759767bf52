"""The desk's application factory: ``create_app(config, database, settings)``.

FastAPI builds the routes and the OpenAPI description of the JSON API; Jinja2 renders the
pages from ``templates/``. The factory takes everything it needs as arguments (nothing is
read from the environment here), so tests, the benchmark and ``monitor web`` build the
same app; what the routes share is the ``Desk`` of ``monitor.web.desk``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.trustedhost import TrustedHostMiddleware

from monitor import __version__
from monitor.config.model import Config
from monitor.errors import ConfigError
from monitor.store.database import Database
from monitor.store.desk import has_tokens
from monitor.watch.state import CurrentRules
from monitor.web import access, admin, api, feeds, pages, render
from monitor.web.desk import RULES_CHECK, Desk, WebSettings
from monitor.web.security import CSRF_COOKIE, check_password_hash, is_loopback, new_csrf

HERE = Path(__file__).parent


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
    app.state.desk = Desk(
        config, database, settings, CurrentRules(database, config.rule_paths, RULES_CHECK), templates
    )
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

    app.include_router(pages.router)
    app.include_router(admin.router)
    app.include_router(feeds.router)
    app.include_router(api.router)

    @app.exception_handler(access.LoginRequired)
    async def login_required(request: Request, exc: access.LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    return app
