"""The ``monitor`` command: the only place that prints or exits.

Lower layers raise ``MonitorError``s; here they become ``click.ClickException`` (exit 1)
with their ``file:line:col: message`` text. Exit status 2 is a usage error (click's own).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

from monitor import __version__
from monitor.config.model import Config, load_config
from monitor.errors import ConfigError, MonitorError

EPILOG = "Docs: README.md; rule syntax: docs/rules.md. Config: --config or $MONITOR_CONFIG."


@dataclass(slots=True)
class State:
    """Options of the top-level command, shared with subcommands."""

    config_path: Path
    verbose: int

    def config(self) -> Config:
        """Load monitor.yaml, turning every error into one exit-1 message."""
        if not self.config_path.exists():
            fail(
                f"{self.config_path}: no such configuration file; pass --config PATH, "
                "set MONITOR_CONFIG, or try `monitor demo`"
            )
        try:
            return load_config(self.config_path, check_channels=True)
        except ConfigError as error:
            fail(str(error))


def fail(message: str) -> NoReturn:
    """Exit 1 with ``message`` on standard error."""
    raise click.ClickException(message)


class MonitorGroup(click.Group):
    """The top-level group: a ``MonitorError`` from any command becomes exit 1 with its text."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MonitorError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=MonitorGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="MONITOR_CONFIG",
    default=Path("monitor.yaml"),
    show_default=True,
    help="The monitor.yaml to use (storage, sources, channels, rule paths).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv: debug).")
@click.version_option(__version__, prog_name="monitor")
@click.pass_context
def main(ctx: click.Context, config_path: Path, verbose: int) -> None:
    """Watch news sources, match watch rules, and send alerts.

    Sources (RSS/Atom feeds, news sitemaps, section pages) are crawled by Scrapy; each
    article is parsed, stored, matched against rules/*.yaml, and alerts go out through
    apprise (email, Slack, Teams, Matrix, ntfy, webhooks, the console).
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = State(config_path=config_path, verbose=verbose)


# The commands live in sibling modules and attach themselves to ``main``.
from monitor.cli import alerts, db, inspect, pipeline, sources, web, workers  # noqa: E402

inspect.register(main)
pipeline.register(main)
alerts.register(main)
sources.register(main)
workers.register(main)
db.register(main)
web.register(main)
