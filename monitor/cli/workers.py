"""Worker commands: ``monitor dispatch``, a dispatcher process to run beside the scheduler.

The outbox (``monitor.store.outbox``) does the coordination: each pass claims due alerts with
``SELECT ... FOR UPDATE SKIP LOCKED`` and a lease, so any number of these workers can run
on one PostgreSQL database, on any machine, and every alert is sent once.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

import click

from monitor.errors import MonitorError
from monitor.notify import Dispatcher
from monitor.ops.metrics import serve_metrics
from monitor.store.database import Database
from monitor.store.outage import Outage, is_unreachable

log = logging.getLogger(__name__)


def register(main: click.Group) -> None:
    """Attach this module's commands to the top-level group."""
    main.add_command(dispatch)


@click.command()
@click.option("--once", is_flag=True, help="Send what is due now, then exit (a cron job, a test).")
@click.option(
    "--every",
    type=click.FloatRange(0.1, 3600),
    default=5.0,
    show_default=True,
    help="Seconds to wait after a pass that found nothing to send.",
)
@click.option(
    "--metrics-port",
    "metrics_address",
    help="Serve Prometheus /metrics and /healthz on PORT (loopback) or HOST:PORT.",
)
@click.pass_obj
def dispatch(state: Any, once: bool, every: float, metrics_address: str | None) -> None:
    """Send due alerts and digests, as a worker: run as many as you like on PostgreSQL.

    Each worker claims alerts with SELECT ... FOR UPDATE SKIP LOCKED and a lease, so
    several workers never send one alert twice, and an alert claimed by a worker that
    died is taken over when its lease ends. SIGTERM or Ctrl-C stops after the current
    alert.

    \b
    Example:
      $ monitor dispatch --once
      dispatch: 12 sent, 0 retrying, 0 failed
    """
    config = state.config()
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        database = Database.open(config.database_url)
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from None
    address = metrics_address  # not monitor.yaml's metrics_port: that one is the scheduler's
    try:
        metrics = serve_metrics(config.database_url, address) if address else None
    except (OSError, ValueError) as exc:
        database.close()
        raise click.ClickException(f"metrics port {address}: {exc}") from None
    totals = [0, 0, 0]
    outage = Outage(log, "the dispatcher")
    try:
        if not once:
            served = f"; metrics on http://{metrics.host}:{metrics.port}/metrics" if metrics else ""
            click.echo(
                f"monitor dispatch: database {config.database_url.split('@')[-1]}{served}; Ctrl-C to stop"
            )
        # One dispatcher for the worker's life: it remembers the claims an outage cut short
        # and gives them back at the next pass; ``stop`` ends a pass after the send in flight.
        dispatcher = Dispatcher.from_config(database, config, stop=stop)
        while not stop.is_set():
            try:
                report = dispatcher.dispatch_due()
            except Exception as exc:
                if not is_unreachable(exc):
                    raise
                if once:
                    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
                    raise click.ClickException(f"database unreachable: {reason}") from None
                database.engine.dispose()  # no dead pooled connection once the server is back
                stop.wait(outage.failed(exc))
                continue
            outage.recovered()
            figures = (report.sent, report.retrying, report.failed)
            totals = [total + figure for total, figure in zip(totals, figures, strict=True)]
            if once:
                break
            if any(figures):
                click.echo(
                    f"dispatch: {report.sent} sent, {report.retrying} retrying, {report.failed} failed"
                )
            else:
                stop.wait(every)
    finally:
        database.close()
        if metrics is not None:
            metrics.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(f"dispatch: {totals[0]} sent, {totals[1]} retrying, {totals[2]} failed")
