"""Commands about the alert outbox: ``alerts`` and ``alerts retry``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from monitor.cli.pipeline import dispatch
from monitor.store import ALERT_STATUSES, Database, recent_alerts, retry_failed_alerts


def register(main: click.Group) -> None:
    """Attach this module's commands to the top-level group."""
    main.add_command(alerts)


@click.group(invoke_without_command=True)
@click.option("--status", type=click.Choice(ALERT_STATUSES), help="Only alerts in this state.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.pass_context
def alerts(ctx: click.Context, status: str | None, limit: int) -> None:
    """List recent alerts with their status (newest first).

    \b
    Example:
      $ monitor alerts --status failed
      #12  failed   2026-11-26 09:14  daimler-renault-alliance -> alerts  Daimler, Renault ...
    """
    if ctx.invoked_subcommand is not None:
        return
    config = ctx.obj.config()
    database = Database(config.database_url)
    try:
        with database.transaction() as session:
            rows = recent_alerts(session, limit=limit, status=status)
            for row in rows:
                when = f"{row.created_at:%Y-%m-%d %H:%M}"
                click.echo(
                    f"#{row.id:<4} {row.status:8} {when}  {row.rule} -> {row.channel}  "
                    f"{row.article.title[:70]}  (attempts {row.attempts})"
                )
                if row.last_error and row.status != "sent":
                    click.echo(f"       last error: {row.last_error}")
            if not rows:
                click.echo("no alerts" + (f" with status {status}" if status else ""))
    finally:
        database.close()


@alerts.command("retry")
@click.pass_obj
def alerts_retry(state: Any) -> None:
    """Queue every failed alert again and try to send it now."""
    config = state.config()
    database = Database(config.database_url)
    try:
        with database.transaction() as session:
            count = retry_failed_alerts(session, datetime.now(UTC))
        click.echo(f"{count} failed alert(s) queued again")
        report = dispatch(config, database)
        click.echo(f"alerts: {report.sent} sent, {report.retrying} retrying, {report.failed} failed")
    finally:
        database.close()
