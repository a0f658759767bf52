"""Commands about sources: ``monitor status`` (their health) and ``monitor sources discover``."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import click

from monitor.config.model import DEFAULT_USER_AGENT
from monitor.crawl.discover import DiscoverError, GuardedFetcher, discover, to_yaml
from monitor.crawl.quality import FIELDS
from monitor.ops.status import SourceStatus, source_statuses
from monitor.store.database import Database


def register(main: click.Group) -> None:
    """Attach this module's commands to the top-level group."""
    main.add_command(status)
    main.add_command(sources)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source, one a line.")
@click.pass_obj
def status(state: Any, as_json: bool) -> None:
    """Show each source's health: last success, last error, failures in a row, articles/day, next run.

    STATE is ok, failed (the last crawl failed), failing (the operator was alerted: too many
    failures in a row), silent (nothing new for much longer than usual), overdue (not crawled
    for three intervals: is `monitor run` running?) or new (never crawled).
    NO BODY/DATE/AUTHOR is the share of the source's newest 50 article pages that gave no
    article text, no date or no author; when it jumps (a site redesign) the operator is told
    once and a line says so. The next run comes from `monitor run`'s schedule; "-" when it
    has not run yet.

    \b
    Example:
      $ monitor status
      SOURCE          KIND     STATE    LAST SUCCESS      FAILS  /DAY  NO BODY/DATE/AUTHOR  NEXT RUN
      autoguide-feed  feed     ok       2026-11-26 09:16      0   1.7    0%/  0%/ 12%       2026-11-26 09:31
      motorwire       listing  failing  2026-11-25 22:02      4   0.9    0%/100%/  5%       2026-11-26 09:35
                        last error 2026-11-26 09:20: robots-unavailable: robots.txt answered HTTP 503 ...
                        extraction degraded (operator told): 100% without date, 5% without author
    """
    config = state.config()
    with Database.open(config.database_url) as database, database.transaction() as session:
        rows = source_statuses(session, config, datetime.now(UTC))
    if as_json:
        for row in rows:
            click.echo(json.dumps(_as_dict(row)))
        return
    if not rows:
        click.echo(f"{config.path}: no sources configured")
        return
    width = max(len("SOURCE"), *(len(row.name) for row in rows))
    click.echo(
        f"{'SOURCE':<{width}}  KIND     STATE    LAST SUCCESS      FAILS  /DAY  NO BODY/DATE/AUTHOR  NEXT RUN"
    )
    for row in rows:
        click.echo(
            f"{row.name:<{width}}  {row.kind:<7}  {row.state:<7}  {_when(row.last_success):<16}  "
            f"{row.failures:>5}  {row.per_day:>4.1f}  {_missing(row):<19}  "
            f"{_when(row.next_run)}{_interval(row.interval)}"
        )
        if row.last_error and (row.state != "ok" or row.last_run == "partial"):
            click.echo(f"{'':<{width}}    last error {_when(row.last_error_at)}: {row.last_error}")
        if row.extraction == "degraded":
            worst = ", ".join(f"{share:.0%} without {name}" for name, share in row.missing.items() if share)
            click.echo(f"{'':<{width}}    extraction degraded (operator told): {worst}")


@click.group()
def sources() -> None:
    """Find and inspect news sources."""


@sources.command("discover")
@click.argument("url")
@click.option("--allow-private", is_flag=True, help="Allow loopback and private addresses (intranet, tests).")
@click.option(
    "--timeout", type=click.FloatRange(1, 120), default=15.0, show_default=True, help="Seconds per request."
)
@click.pass_obj
def discover_command(state: Any, url: str, allow_private: bool, timeout: float) -> None:
    """Find the feeds and sitemaps of the site at URL and print them as monitor.yaml sources.

    Looks at the page's <link rel="alternate"> feeds, the Sitemap: lines of robots.txt and
    the usual paths (/feed, /rss.xml, /sitemap.xml, /news-sitemap.xml ...), reads each
    candidate, and keeps what really is a feed or a sitemap. Requests obey robots.txt and
    never go to private addresses (unless --allow-private).

    \b
    Example:
      $ monitor sources discover https://www.example-motors.com/
      # Feeds and sitemaps of https://www.example-motors.com/, found by `monitor sources discover`.
      sources:
        - name: example-motors-feed  # RSS/Atom feed, "Example Motors", 30 entries, ...
          kind: feed
          url: https://www.example-motors.com/feed/
    """
    user_agent = DEFAULT_USER_AGENT
    if state.config_path.exists():
        user_agent = state.config().user_agent
    fetcher = GuardedFetcher(user_agent, allow_private=allow_private, timeout=timeout)
    try:
        found = discover(url, fetcher)
    except DiscoverError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(to_yaml(url, found, allow_private=allow_private), nl=False)
    if not found:
        raise SystemExit(1)


def _as_dict(row: SourceStatus) -> dict[str, Any]:
    values = dataclasses.asdict(row)
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in values.items()}


def _missing(row: SourceStatus) -> str:
    """``  0%/100%/ 12%``: the shares without a body, a date, an author; ``-`` with no pages yet."""
    if not row.pages_judged:
        return "   -"
    return "/".join(f"{row.missing[name]:>4.0%}" for name in FIELDS)


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else "-"


def _interval(seconds: int | None) -> str:
    if seconds is None:
        return ""
    return f" (every {seconds // 60} min)" if seconds >= 60 else f" (every {seconds} s)"
