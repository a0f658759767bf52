"""Commands about the alert outbox: ``alerts`` (list, show, send, retry) and ``notify-test``.

Nothing here prints a channel URL: targets are named by their label (``channel 'team' #2
(mailto)``), so tokens stay out of terminals and CI logs. Labels and errors (stored ones too,
which an older version may have written) still go through ``monitor.redact``, the mask of
the logs.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from typing import Any

import click

from monitor.cli.pipeline import dispatch
from monitor.config.model import Config
from monitor.notify import DispatchReport, Templates, render_alert
from monitor.notify.probe import probe_channel
from monitor.notify.targets import target_key, target_label
from monitor.redact import redact
from monitor.store.database import Database, recent_alerts
from monitor.store.models import AlertRow
from monitor.store.outbox import ALERT_STATUSES, also_reported_by, retry_failed_alerts


def register(main: click.Group) -> None:
    """Attach this module's commands to the top-level group."""
    main.add_command(alerts)
    main.add_command(notify_test)


def report_line(report: DispatchReport) -> str:
    """One line summing up a dispatcher pass."""
    line = f"alerts: {report.sent} sent, {report.retrying} retrying, {report.failed} failed"
    extra = [
        f"{report.held} held for digests" if report.held else "",
        f"{report.deferred} waiting for quiet hours to end" if report.deferred else "",
        f"{report.digests} digest(s) sent" if report.digests else "",
    ]
    return ", ".join([line, *(part for part in extra if part)])


def _where(row: AlertRow) -> str:
    if row.digest_id is not None:
        return f"  [digest #{row.digest_id}]"
    if row.status == "held":
        return f"  [held for digest '{row.digest_key}']"
    return ""


@click.group(invoke_without_command=True)
@click.option("--status", type=click.Choice(ALERT_STATUSES), help="Only alerts in this state.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.pass_context
def alerts(ctx: click.Context, status: str | None, limit: int) -> None:
    """List recent alerts with their status (newest first).

    States: pending (due or waiting to retry), sending (leased to a dispatcher), held
    (waiting for a digest), sent, failed (out of attempts or too old; see `alerts retry`).

    \b
    Example:
      $ monitor alerts --status failed
      #12   failed   2026-11-26 09:14  daimler-renault-alliance -> alerts  Daimler, Renault ...
             last error: channel 'alerts' #1 (mailto): the service refused the message ...
    """
    if ctx.invoked_subcommand is not None:
        return
    config = ctx.obj.config()
    with Database.open(config.database_url) as database, database.transaction() as session:
        rows = recent_alerts(session, limit=limit, status=status)
        for row in rows:
            copies = len(also_reported_by(session, row.story_id, row.article_id))
            also = f"  (+{copies} also reported)" if copies else ""
            click.echo(
                f"#{row.id:<4} {row.status:8} {row.created_at:%Y-%m-%d %H:%M}  {row.rule} -> "
                f"{row.channel}  {row.article.title[:70]}  (attempts {row.attempts}){also}{_where(row)}"
            )
            if row.last_error and row.status != "sent":
                click.echo(f"       last error: {redact(row.last_error)}")
        if not rows:
            click.echo("no alerts" + (f" with status {status}" if status else ""))


@alerts.command("show")
@click.argument("alert_id", type=int)
@click.pass_obj
def alerts_show(state: Any, alert_id: int) -> None:
    """Show one alert: its state per target, the story's other copies, and the message.

    \b
    Example:
      $ monitor alerts show 12
      alert #12: sent 2026-11-26 09:14 UTC after 1 attempt(s)
      ...
    """
    config = state.config()
    with Database.open(config.database_url) as database, database.transaction() as session:
        row = session.get(AlertRow, alert_id)
        if row is None:
            raise click.ClickException(f"no alert #{alert_id}")
        when = f" {row.sent_at:%Y-%m-%d %H:%M} UTC" if row.sent_at else ""
        click.echo(f"alert #{row.id}: {row.status}{when} after {row.attempts} attempt(s){_where(row)}")
        click.echo(f"rule {row.rule} -> channel {row.channel}")
        if row.last_error:
            click.echo(f"last error: {redact(row.last_error)}")
        urls = config.channels.get(row.channel, ())
        for index, url in enumerate(urls, start=1):
            done = "delivered" if target_key(url) in row.delivered else "not delivered"
            click.echo(f"  {target_label(row.channel, index, url)}: {done}")
        copies = also_reported_by(session, row.story_id, row.article_id)
        click.echo(f"story #{row.story_id}: {len(copies)} other copies")
        zone = _zone(config, row.channel)
        message = render_alert(row, zone, copies, Templates(config.templates))
        click.echo(f"\n{message.title}\n\n{message.body}")


@alerts.command("send")
@click.pass_obj
def alerts_send(state: Any) -> None:
    """Send every due alert and digest now (what `monitor run` does every minute)."""
    config = state.config()
    with Database.open(config.database_url) as database:
        click.echo(report_line(dispatch(config, database)))


@alerts.command("retry")
@click.pass_obj
def alerts_retry(state: Any) -> None:
    """Queue every failed alert and digest again and try to send it now."""
    config = state.config()
    with Database.open(config.database_url) as database:
        with database.transaction() as session:
            count = retry_failed_alerts(session, datetime.now(UTC))
        click.echo(f"{count} failed alert(s) queued again")
        click.echo(report_line(dispatch(config, database)))


@click.command("notify-test")
@click.argument("tag")
@click.pass_obj
def notify_test(state: Any, tag: str) -> None:
    """Send a sample alert to every target of channel TAG, the way real alerts go.

    The message is rendered with your templates and the channel's time zone and sent to
    each target on its own; each target's result is printed. Exits 1 if any target failed.

    \b
    Example:
      $ monitor notify-test alerts
      channel 'alerts' #1 (mailto): sent
      channel 'alerts' #2 (json): FAILED: the service refused the message or could not be reached
    """
    config = state.config()
    if tag not in config.channels:
        close = difflib.get_close_matches(tag, list(config.channels), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise click.ClickException(f"{config.path}: no channel {tag!r}{hint}")
    urls = config.channels[tag]
    if not urls:
        raise click.ClickException(f"{config.path}: channel {tag!r} has no URL")
    results = probe_channel(tag, urls, Templates(config.templates), _zone(config, tag))
    for result in results:
        if result.error is None:
            click.echo(redact(f"{result.label}: sent"))
        else:
            click.echo(redact(f"{result.label}: FAILED: {result.error.removeprefix(result.label + ': ')}"))
    failed = sum(result.error is not None for result in results)
    if failed:
        raise click.ClickException(f"{failed} of {len(results)} target(s) of channel {tag!r} failed")


def _zone(config: Config, tag: str) -> str:
    settings = config.channel_settings.get(tag)
    return (settings.timezone if settings else None) or config.timezone
