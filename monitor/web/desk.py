"""What every route of the desk shares: its settings, the database, the rules, the templates.

``create_app`` (``monitor.web.app``) builds one ``Desk`` and every route reaches it through
``desk_of(request)``; kept apart from the factory so that the routes import this module and
the factory imports the routes, never both ways. Rules are read as the crawl reads them
(``monitor.watch.state.running_rules``) and read again when the contents of a rules file
change (``monitor.watch.cache.fingerprint``, the key of the rule cache).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from monitor.config.model import Config
from monitor.store.database import Database
from monitor.watch.state import CurrentRules
from monitor.web.security import is_loopback

RULES_CHECK = 2.0  # seconds between hashes of the rules files: not on every request of a page


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


@dataclass(slots=True)
class Desk:
    """What every route needs: the configuration, the database, the rules, the templates."""

    config: Config
    database: Database
    settings: WebSettings
    rules: CurrentRules
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
