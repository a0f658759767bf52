"""How a crawl ends, whoever ran it: the run record closed, the source's health, the operator told.

``monitor.crawl.runner`` (a ``scrapy crawl`` child per crawl) and ``monitor.crawl.engine`` (one
long-lived Scrapy engine in this process) both open a ``crawl_runs`` row before the crawl
and call ``settle_run`` after it: a run the crawl could not close itself (killed, timed
out, stopped by shutdown) is closed here, the source's ``source_health`` is updated
(``monitor.crawl.health``) and the operator hears through apprise (``monitor.notify.send``)
when a source starts failing, goes quiet or recovers.

The engine's crawls leave how they ended (``RunEnd``) to be recorded here, in the same
transaction as the health. The source's recent article times are read only when something
uses them: adaptive polling (``max_interval``) or the operator's silence notice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.config.model import Config, Source
from monitor.crawl.health import Notice, record_run, uses_times
from monitor.crawl.quality import record_quality
from monitor.errors import NotifyError
from monitor.store.database import Database
from monitor.store.runs import RunEnd, article_times, close_run, finish_run, get_run, health_of, stored_since

log = logging.getLogger(__name__)
INTERRUPTED = "interrupted"  # a crawl that shutdown stopped: neither a failure nor a success


@dataclass(frozen=True, slots=True)
class CrawlResult:
    """The outcome of one source's crawl, as the parent sees it."""

    source: str
    ok: bool
    pages: int
    stored: int
    seconds: float
    error: str | None = None
    status: str = "ok"  # ok, partial, failed, skipped or interrupted
    failed_pages: int = 0

    @property
    def summary(self) -> str:
        """The outcome in a few words: ``ok``, ``ok, 2 of 9 ... failed``, ``FAILED: ...``."""
        if self.status == "ok":
            return "ok"
        if self.status == "failed":
            return f"FAILED: {self.error}"
        return f"{'ok' if self.status == 'partial' else self.status}, {self.error}"


def settle_run(
    config: Config,
    database: Database,
    source: Source,
    run_id: int,
    seconds: float,
    *,
    lost: str | None,
    stopped: bool,
    end: RunEnd | None = None,
) -> CrawlResult:
    """Close run ``run_id`` if the crawl could not, update the source's health, tell the operator.

    ``end``: how the crawl ended, as its pipeline saw it, when the pipeline left it to be
    recorded here (the engine's crawls). ``lost`` says why a run still ``running`` lost its
    crawl (it is closed as failed with that error); ``stopped``: monitor's shutdown stopped
    the crawl, which is then ``interrupted`` unless it finished ``ok``.
    """
    with database.transaction() as session:
        if end is not None:
            close_run(session, run_id, source.name, source.url, end, datetime.now(UTC))
        run = get_run(session, run_id)
        assert run is not None
        if stopped and run.status != "ok":  # stopped by shutdown: not the source's fault
            finish_run(
                session,
                run_id,
                datetime.now(UTC),
                pages=run.pages_fetched,
                stored=stored_since(session, source.name, run.started_at),
                failed=run.pages_failed,
                error="stopped by monitor's shutdown",
                status=INTERRUPTED,
            )
        if run.status == "running":  # the crawl died or was stopped before closing it
            stored = stored_since(session, source.name, run.started_at)
            finish_run(
                session,
                run_id,
                datetime.now(UTC),
                pages=run.pages_fetched,
                stored=stored,
                failed=1,
                error=lost or "the crawl ended without closing its run",
                status="failed",
            )
        result = CrawlResult(
            source.name,
            run.status != "failed",
            run.pages_fetched,
            run.articles_stored,
            seconds,
            run.error,
            run.status,
            run.pages_failed,
        )
        notice = quality = None
        if run.status not in ("skipped", INTERRUPTED):  # neither says anything of the source
            health = health_of(session, source.name)
            times = article_times(session, source.name) if uses_times(source, config.operator) else []
            notice = record_run(health, run, source, times, config.operator, datetime.now(UTC))
            if config.operator is not None:
                quality = record_quality(session, health)
    if notice is not None and not tell_operator(config, notice):
        with database.transaction() as session:
            health_of(session, source.name).alert_state = notice.previous  # try again next crawl
    if quality is not None and not tell_operator(config, quality):
        with database.transaction() as session:
            health_of(session, source.name).quality_state = quality.previous
    return result


def tell_operator(config: Config, notice: Notice) -> bool:
    """Send ``notice`` to the operator channel; False if no target took it."""
    from monitor.notify import Message, send
    from monitor.notify.targets import target_label

    assert config.operator is not None
    urls = config.channels.get(config.operator.channel, ())
    if not urls:
        log.warning("operator channel %r has no URLs: %s", config.operator.channel, notice.title)
        return True
    delivered = False
    for index, url in enumerate(urls, start=1):
        # The same label as the dispatcher's: the scheme word only (a mailto: URL has no //).
        label = f"operator {target_label(config.operator.channel, index, url)}"
        try:
            send(url, Message(title=notice.title, body=notice.body), label)
        except NotifyError as exc:
            log.warning("operator notice not sent: %s", exc)
        else:
            delivered = True
    return delivered
