"""Commands of the analysts' desk: ``web`` (serve it), ``search``, ``web-token``, ``web-password``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import click

from monitor.config.values import parse_address
from monitor.errors import ConfigError
from monitor.store.database import Database
from monitor.store.desk import add_token
from monitor.watch.search import search as run_search
from monitor.watch.state import running_rules
from monitor.web.security import hash_password, new_token

PASSWORD_ENV = "MONITOR_WEB_PASSWORD_HASH"


def register(main: click.Group) -> None:
    """Attach this module's commands to the top-level group."""
    main.add_command(web)
    main.add_command(search)
    main.add_command(web_token)
    main.add_command(web_password)


@click.command()
@click.option(
    "--listen",
    default=None,
    help="HOST:PORT to serve on, instead of `web: listen` (default 127.0.0.1:8080). "
    "Beyond loopback a login (password hash) or a token is required.",
)
@click.option(
    "--password-hash",
    envvar=PASSWORD_ENV,
    show_envvar=True,
    default=None,
    help="The login's password hash from `monitor web-password`, instead of `web: password_hash`.",
)
@click.pass_obj
def web(state: Any, listen: str | None, password_hash: str | None) -> None:
    """Serve the analysts' desk: inbox by story, rules and backtests, search, feeds, sources, outbox, API.

    Where it listens and its login come from the `web:` block of monitor.yaml (`listen`,
    `password_hash`, `session_secret`, each may be `${ENV}`); the options override them.
    On 127.0.0.1 without a password it is open to this machine; elsewhere it asks for the
    password or a token (`monitor web-token NAME`).

    \b
    Example:
      $ monitor web --listen 127.0.0.1:8080
      desk on http://127.0.0.1:8080/ (open to this machine only); Ctrl-C stops it
    """
    import uvicorn

    from monitor.web.app import create_app
    from monitor.web.desk import WebSettings

    config = state.config()
    try:
        host, port = parse_address(listen or config.web.listen)
    except ValueError as exc:
        raise ConfigError(f"--listen {exc}") from None
    password_hash = password_hash or config.web.password_hash
    keep = {"secret": config.web.session_secret.encode("utf-8")} if config.web.session_secret else {}
    settings = WebSettings(host=host, port=port, password_hash=password_hash or None, **keep)
    with Database.open(config.database_url) as database:
        app = create_app(config, database, settings)
        who = "open to this machine only" if settings.open else "login or token required"
        click.echo(f"desk on {settings.address} ({who}); Ctrl-C stops it")
        uvicorn.run(app, host=host, port=port, log_level="warning" if state.verbose == 0 else "info")


@click.command()
@click.argument("query")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Hits to show.")
@click.option("--source", default=None, help="Only articles of this source.")
@click.option("--language", default=None, help="Only articles in this language (e.g. en).")
@click.option(
    "--days", type=click.IntRange(1, 36500), default=None, help="Only articles fetched in the last N days."
)
@click.pass_obj
def search(
    state: Any, query: str, limit: int, source: str | None, language: str | None, days: int | None
) -> None:
    """Search the stored articles with the rule language, newest first.

    The full-text index (SQLite FTS5, PostgreSQL tsvector) narrows the archive; the rule
    matcher then decides, so QUERY means exactly what it would in a rule.

    \b
    Example:
      $ monitor search 'Daimler NEAR/10 Renault'
      2010-04-07  Daimler, Renault Team Up for Small Car Alliance  https://...
          … **Daimler** and **Renault** announced …
      1 hit(s), 12 candidate(s) read in 8 ms
    """
    config = state.config()
    database = Database.open(config.database_url)
    try:
        rules, _errors = running_rules(database, config.rule_paths)
        since = datetime.now(UTC) - timedelta(days=days) if days else None
        with database.transaction() as session:
            result = run_search(
                session, query, rules.entities, source=source, language=language, since=since, limit=limit
            )
            for hit in result.hits:
                row = hit.article
                when = row.published_at or row.fetched_at
                click.echo(f"{when:%Y-%m-%d}  {row.title}  {row.url}")
                click.echo(f"    {hit.snippet}")
    finally:
        database.close()
    more = "; more with a larger --limit" if result.more_before else ""
    took = f"{result.seconds * 1000:.0f} ms"
    click.echo(f"{len(result.hits)} hit(s), {result.scanned} candidate(s) read in {took}{more}")


@click.command("web-token")
@click.argument("name")
@click.pass_obj
def web_token(state: Any, name: str) -> None:
    """Issue (or replace) the API and feed token of NAME and print it once.

    Use it as `Authorization: Bearer TOKEN` for the API, or add `?token=TOKEN` to a feed
    address. Only its hash is stored.
    """
    config = state.config()
    token = new_token()
    database = Database.open(config.database_url)
    try:
        with database.transaction() as session:
            add_token(session, name, token, datetime.now(UTC))
    finally:
        database.close()
    click.echo(token)


@click.command("web-password")
@click.password_option(help="The desk's login password (asked twice when not given).")
def web_password(password: str) -> None:
    """Print the hash of a login password, for `web: password_hash` (or MONITOR_WEB_PASSWORD_HASH)."""
    click.echo(hash_password(password))
