"""``monitor demo``: the real pipeline on the bundled demo site, start to finish.

It serves ``monitor/demo/site`` on 127.0.0.1, starts an SMTP sink, writes a concrete
monitor.yaml from ``config.yaml`` into the work folder, crawls every demo source with the
real Scrapy spider on the in-process crawl engine (as ``monitor crawl`` does), and
dispatches the alerts through apprise to the console and the sink. The database stays in
the work folder, so a second run shows that nothing is sent twice.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from monitor.config.model import Config, load_config
from monitor.config.yamlfile import Node, expand_env
from monitor.crawl.engine import CrawlEngine
from monitor.crawl.outcome import CrawlResult
from monitor.crawl.runner import crawl_sources
from monitor.demo.server import SiteServer, site_root
from monitor.demo.smtpsink import SmtpSink
from monitor.notify import Dispatcher, DispatchReport
from monitor.store.database import Counts, Database, counts

DEFAULT_PORT = 8642  # fixed, so the article URLs (and so the database) are the same run to run
TEMPLATE = Path(__file__).with_name("config.yaml")


@dataclass(slots=True)
class DemoReport:
    """What a demo run did, for the CLI to print."""

    site_url: str
    config_path: Path
    crawls: list[CrawlResult] = field(default_factory=list)
    dispatch: DispatchReport = field(default_factory=DispatchReport)
    before: Counts | None = None
    after: Counts | None = None
    emails: list[EmailMessage] = field(default_factory=list)


def write_demo_config(workdir: Path, site_url: str, smtp_port: int, rules: Path) -> Path:
    """Fill the template's ``${...}`` values and write ``monitor.yaml`` into ``workdir``."""
    values = {
        "MONITOR_DEMO_URL": site_url,
        "MONITOR_DEMO_SMTP_PORT": str(smtp_port),
        "MONITOR_DEMO_RULES": str(rules.resolve()),
    }
    text = expand_env(TEMPLATE.read_text(encoding="utf-8"), Node(None, str(TEMPLATE), 1, 1), values)
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def run_demo(
    workdir: Path,
    rules: Path,
    *,
    port: int = DEFAULT_PORT,
    fresh: bool = False,
    progress: Callable[[str], None] = lambda _line: None,
) -> DemoReport:
    """Run the whole pipeline once on the demo site; see the module docstring."""
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            (workdir / f"monitor.db{suffix}").unlink(missing_ok=True)
    with SiteServer(site_root(), port=_free_or_any(port)) as site, SmtpSink() as sink:
        progress(f"demo site on {site.url}, SMTP sink on 127.0.0.1:{sink.port}")
        config_path = write_demo_config(workdir, site.url, sink.port, rules)
        config: Config = load_config(config_path, environ={})
        report = DemoReport(site_url=site.url, config_path=config_path)
        with Database.open(config.database_url) as database:
            with database.transaction() as session:
                report.before = counts(session)

            def done(result: CrawlResult) -> None:
                state = result.summary
                progress(
                    f"crawled {result.source}: {result.pages} pages, {result.stored} new articles "
                    f"({result.seconds:.1f} s) {state}"
                )

            report.crawls = _crawl(config, done)
            dispatcher = Dispatcher(database, config.channels, max_attempts=config.max_attempts)
            report.dispatch = dispatcher.dispatch_due()
            with database.transaction() as session:
                report.after = counts(session)
        report.emails = list(sink.messages)
    return report


def _crawl(config: Config, done: Callable[[CrawlResult], None]) -> list[CrawlResult]:
    """Crawl every demo source on the in-process engine, as ``monitor crawl`` does.

    One at a time, in the config's order: Autoguide, which published the seed story first,
    is crawled first, so the demo's one alert always heads with it and lists Motor Wire's
    syndicated copy as "also reported by" (crawls at once would make that a race).
    """
    if not config.crawl.in_process:
        return crawl_sources(config, config.sources, on_done=done, parallel=1)
    engine = CrawlEngine(config, max_crawls=1)
    try:
        return engine.crawl(config.sources, on_done=done)
    finally:
        engine.stop()


def _free_or_any(port: int) -> int:
    """``port`` when it is free on 127.0.0.1, else 0 (any free port)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself does
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return 0
    return port
