"""Commands that run the pipeline: ``demo``, ``crawl``, ``run``, ``backfill``."""

from __future__ import annotations

import difflib
import re
import signal
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from monitor.config.model import Config
from monitor.config.values import DURATION_EXAMPLES, format_duration, parse_duration
from monitor.crawl.ingest import channels_for
from monitor.crawl.outcome import CrawlResult
from monitor.crawl.runner import crawl_sources
from monitor.errors import MonitorError, quoted
from monitor.notify import Dispatcher, DispatchReport
from monitor.store.database import Database
from monitor.watch.backfill import BackfillHit
from monitor.watch.backfill import backfill as run_backfill
from monitor.watch.state import running_rules

# Crawls at once by default: a poll in the engine costs a few ms of CPU and little memory; a
# child process costs seconds of CPU and about 150 MB.
ENGINE_PARALLEL = 8
CHILD_PARALLEL = 2


def register(main: click.Group) -> None:
    """Attach this module's commands to the top-level group."""
    main.add_command(demo)
    main.add_command(crawl)
    main.add_command(run)
    main.add_command(backfill)


def _print_crawl(result: CrawlResult) -> None:
    state = result.summary
    click.echo(
        f"  {result.source}: {result.pages} pages fetched, {result.stored} new articles "
        f"({result.seconds:.1f} s) {state}"
    )


def dispatch(config: Config, database: Database) -> DispatchReport:
    """Send every due alert and digest with the rules' modes and the channels' settings."""
    return Dispatcher.from_config(database, config).dispatch_due()


@click.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/demo"),
    show_default=True,
    help="Where the demo writes its monitor.yaml, SQLite database and mbox.",
)
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(exists=True, path_type=Path),
    default=Path("rules"),
    show_default=True,
    help="The watch rules to run.",
)
@click.option("--port", type=int, default=8642, show_default=True, help="Port of the demo site (0: any).")
@click.option("--fresh", is_flag=True, help="Delete the demo database first, so alerts are sent again.")
def demo(workdir: Path, rules_path: Path, port: int, fresh: bool) -> None:
    """Run the whole pipeline on a bundled demo news site on 127.0.0.1.

    Serves two fake automotive outlets (RSS feed, news sitemap, section page, a dozen
    articles), crawls them with the real Scrapy spider, stores them in SQLite, matches
    rules/, and sends alerts to the console and to a local SMTP sink. Run it twice: the
    second run sends nothing new.
    """
    from monitor.demo.runner import run_demo

    started = time.monotonic()
    report = run_demo(workdir, rules_path, port=port, fresh=fresh, progress=lambda line: click.echo(line))
    before, after = report.before, report.after
    assert before is not None
    assert after is not None
    click.echo()
    click.echo("Demo report")
    click.echo(f"  pages fetched:   {sum(result.pages for result in report.crawls)}")
    click.echo(f"  articles stored: {after.articles - before.articles} new ({after.articles} in all)")
    click.echo(f"  stories:         {after.stories} ({after.articles} articles)")
    click.echo(f"  matches:         {after.matches - before.matches} new")
    click.echo(f"  alerts sent:     {report.dispatch.sent} (failed {report.dispatch.failed})")
    click.echo(f"  emails received by the SMTP sink: {len(report.emails)}")
    for message in report.emails:
        click.echo(f"    Subject: {message['Subject']}")
    if not report.dispatch.sent:
        click.echo("  nothing new to alert (run with --fresh to start over)")
    click.echo(f"  config: {report.config_path}")
    click.echo(f"  took {time.monotonic() - started:.1f} s")
    # The analysts' desk reads the same database: the last line says where and how.
    click.echo(f"Read the matches at http://127.0.0.1:8080/ after: monitor --config {report.config_path} web")
    if any(not result.ok for result in report.crawls) or report.dispatch.failed:
        raise SystemExit(1)


@click.command()
@click.argument("sources", nargs=-1)
@click.option("--no-dispatch", is_flag=True, help="Store and match only; leave alerts queued.")
@click.option(
    "--parallel",
    type=click.IntRange(1, 32),
    default=None,
    help=f"Crawls at once [default: {ENGINE_PARALLEL} in process, {CHILD_PARALLEL} child processes].",
)
@click.option(
    "--in-process/--processes",
    "in_process",
    default=None,
    help="Crawl in one Scrapy engine in this process, as `monitor run` does (the default, from "
    "`crawl.in_process`), or start a `scrapy crawl` child process per source.",
)
@click.pass_obj
def crawl(
    state: Any, sources: tuple[str, ...], no_dispatch: bool, parallel: int | None, in_process: bool | None
) -> None:
    """Crawl SOURCES now (default: every source in monitor.yaml), then send the alerts.

    Each source done prints its figures and a progress line (sources done/total, pages,
    new articles, ETA). Ctrl-C or SIGTERM stops the crawls; what they stored stays stored
    and their runs are recorded as interrupted.

    \b
    Example:
      $ monitor crawl autoguide-feed
      crawling 1 source(s)
        autoguide-feed: 9 pages fetched, 9 new articles (2.3 s) ok
        [1/1 sources, 9 pages, 9 new articles, 2 s]
      alerts: 1 sent, 0 retrying, 0 failed
    """
    config = state.config()
    try:
        chosen = [config.source(name) for name in sources] if sources else list(config.sources)
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from None
    if not chosen:
        raise click.ClickException(f"{config.path}: no sources configured")
    click.echo(f"crawling {len(chosen)} source(s)")
    log_level = "INFO" if state.verbose else "WARNING"
    if config.crawl.in_process if in_process is None else in_process:
        results = _crawl_in_process(config, chosen, parallel or ENGINE_PARALLEL)
    else:
        parallel = parallel or CHILD_PARALLEL
        results = crawl_sources(config, chosen, parallel=parallel, log_level=log_level, on_done=_print_crawl)
    if not no_dispatch:
        with Database.open(config.database_url) as database:
            report = dispatch(config, database)
        click.echo(f"alerts: {report.sent} sent, {report.retrying} retrying, {report.failed} failed")
    if any(not result.ok for result in results):
        raise SystemExit(1)


def _crawl_in_process(config: Config, chosen: list[Any], parallel: int) -> list[CrawlResult]:
    """Crawl ``chosen`` on the in-process engine, a progress line per source: done/total, pages, ETA.

    SIGTERM is turned into the same clean stop as Ctrl-C: the engine closes the running
    crawls (their pipelines record them ``interrupted``) before the process exits.
    """
    from monitor.crawl.engine import CrawlEngine

    Database.open(config.database_url).close()  # migrated once, before the engine opens it
    engine = CrawlEngine(config, max_crawls=parallel)
    started = time.monotonic()
    done: list[CrawlResult] = []

    def progress(result: CrawlResult) -> None:
        done.append(result)
        elapsed = time.monotonic() - started
        left = len(chosen) - len(done)
        eta = f", ETA {elapsed / len(done) * left:.0f} s" if left else ""
        _print_crawl(result)
        click.echo(
            f"  [{len(done)}/{len(chosen)} sources, {sum(r.pages for r in done)} pages, "
            f"{sum(r.stored for r in done)} new articles, {elapsed:.0f} s{eta}]"
        )

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        return engine.crawl(chosen, on_done=progress)
    except KeyboardInterrupt:
        click.echo("stopping: the running crawls are closed and recorded as interrupted", err=True)
        engine.stop()
        raise SystemExit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        if not engine.stopping:
            engine.stop()


@click.command()
@click.pass_obj
def run(state: Any) -> None:
    """Run the scheduler: crawl every source on its schedule and send alerts, until stopped.

    Jobs are stored in the database, so a restart resumes the schedule. Ctrl-C or SIGTERM
    stops cleanly (running crawls are asked to finish, then stopped). On PostgreSQL a second
    `monitor run` stands by and takes over when the active one stops or dies.
    """
    from monitor.ops.schedule import run_forever

    config = state.config()
    if not config.sources:
        raise click.ClickException(f"{config.path}: no sources configured")

    def started(scheduler: Any) -> None:
        click.echo(
            f"monitor run: {len(config.sources)} source(s), database {config.database_url.split('@')[-1]}"
        )
        for job in sorted(scheduler.get_jobs(), key=lambda job: job.next_run_time):
            click.echo(f"  {job.name}: next run {job.next_run_time:%Y-%m-%d %H:%M:%S %Z}")
        click.echo("press Ctrl-C to stop")

    def standby() -> None:
        click.echo("standby: another `monitor run` is the active scheduler; taking over when it stops")

    try:
        run_forever(config, on_start=started, on_standby=standby)
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("stopped")


MAX_SINCE = 100 * 365 * 86400  # backfill --since: 100y, older than any stored article
_SINCE_DURATION = re.compile(r"^\s*\d+\s*[a-zA-Z]*\s*$")
_UNITS_HELP = "s, m (minutes), h, d, w, mo (30 d) or y (365 d)"


def _since_option(ctx: click.Context, param: click.Parameter, value: str) -> datetime:
    """``--since`` as a moment, so click reports a bad value as a usage error of ``--since``."""
    return _since(value)


def _since(text: str) -> datetime:
    """``30d``/``2w``/``20y`` ago, or an ISO date or datetime (UTC when no zone is given).

    A duration longer than ``MAX_SINCE`` is a usage error (exit 2): ``99999999999d`` used
    to overflow ``datetime`` in a traceback.
    """
    if _SINCE_DURATION.match(text):
        try:
            return datetime.now(UTC) - timedelta(seconds=parse_duration(text, maximum=MAX_SINCE))
        except ValueError as exc:  # a date never looks like this, so the duration is wrong
            raise click.BadParameter(str(exc)) from None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{quoted(text)} is neither a duration like {DURATION_EXAMPLES} "
            f"(at most {format_duration(MAX_SINCE)}) nor a date like 2026-11-01"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.command()
@click.argument("rule_name", metavar="RULE")
@click.option(
    "--since",
    default="30d",
    show_default=True,
    callback=_since_option,
    help=f"How far back: a duration in {_UNITS_HELP}, such as 12h, 30d, 6mo or 20y "
    "(at most 100y), or a date (2026-11-01).",
)
@click.option("--notify", is_flag=True, help="Also record the hits as matches and send their alerts.")
@click.pass_obj
def backfill(state: Any, rule_name: str, since: datetime, notify: bool) -> None:
    """Run RULE over the stored articles: hits per day and their titles.

    Nothing is sent unless --notify is given (then each hit alerts once per story and
    channel, like a live match).

    \b
    Example:
      $ monitor backfill daimler-renault-alliance --since 2010-01-01
      2010-04-06  2
          Report: Daimler, Renault Team Up for Small Car Alliance  https://...
      2 hit(s) in 12 stored article(s) since 2010-01-01 00:00 UTC; nothing sent
    """
    config = state.config()
    start = since
    with Database.open(config.database_url) as database:
        rules, errors = running_rules(database, config.rule_paths)
        for error in errors:
            click.echo(f"{error} (its last good version is used)", err=True)
        rule = rules.get(rule_name)
        if rule is None:
            names = sorted(r.name for r in rules.rules)
            close = difflib.get_close_matches(rule_name, names, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"rules: {', '.join(names) or 'none'}"
            raise click.ClickException(f"no rule named {rule_name!r} ({hint})")
        channels = channels_for(rule.channels, config) if notify else None
        report = run_backfill(database, rules, rule, start, notify_channels=channels)
        by_day: dict[date, list[BackfillHit]] = {}
        for hit in report.hits:
            by_day.setdefault(hit.day, []).append(hit)
        for day in sorted(by_day):
            click.echo(f"{day:%Y-%m-%d}  {len(by_day[day])}")
            for hit in by_day[day]:
                click.echo(f"    {hit.title}  {hit.url}")
        sent = "nothing sent"
        if notify:
            result = dispatch(config, database)
            sent = f"{report.alerts} alert(s) queued, {result.sent} sent, {result.failed} failed"
        click.echo(
            f"{len(report.hits)} hit(s) in {report.scanned} stored article(s) since "
            f"{start:%Y-%m-%d %H:%M} UTC; {sent}"
        )
