"""One long-lived Scrapy engine per process: every poll of a source is a ``Crawler`` started into it.

``crawl_source`` (``monitor.crawl.runner``) starts a ``python -m scrapy crawl`` child per
crawl: about 3.5 s of CPU before the first request, so two cores watch about 200 feeds at a
5-minute interval. ``CrawlEngine`` keeps one Twisted reactor (Scrapy's asyncio reactor)
running in a thread of this process, started once and never restarted (a Twisted reactor
cannot be), and runs each poll as a ``Crawler`` of the ``news`` spider, started as is (not
through a ``CrawlerRunner``, which would merge its settings into the crawler's once more),
with the source's own settings (``crawl_settings``).

One ``Crawler`` per poll rather than one long-lived spider fed from a queue, because it keeps
every per-source guarantee of the child-process crawl as it is: the source's own settings
(User-Agent, ``allow_private``, limits), its own stats, its own ``CLOSESPIDER_TIMEOUT``, its
own ``Retry-After`` and robots state, its own run record, and a fault that ends one crawler
touching no other. Its price, measured (``make bench-polling``, 2,000 feeds every 5 minutes):
a no-change poll costs about 18 ms of CPU in ``monitor run`` all told (scheduler job, run
record, crawler, conditional GET, health, and the dispatch and rule-check jobs), against
about 2 s for a child process. Most of it is now Scrapy building the crawler, its engine,
middlewares and extensions. What was cut (it was 31.5 ms, and 54 ms on a busier machine):
the dispatch and rule-check jobs loading every rule at every run (``monitor.ops.kept``);
Scrapy's deep copy of the settings per crawler (the template is a ``TemplateSettings``,
``monitor.crawl.pollsettings``); the runner's merge; Scrapy's RemoteControl server, its
per-poll source parse for a generator warning, the stats dump and log counter
(``ENGINE_SETTINGS``); four of six transactions per poll (below); and APScheduler's
database round trips per job run (``monitor.ops.jobstore``). A spider fed from a queue
(``spider_idle`` + ``DontCloseSpider``) would save most of the rest at the cost of
re-implementing those guarantees per request.

What the crawls share is what made a child expensive: the ``Config`` (loaded once), the
``Database`` (its connection pool stays open), robots.txt per host with its expiry
(``RobotsCache``: a poll that finds nothing new costs one conditional GET) and the compiled
rules, which live in the engine's ingest (``monitor.crawl.sharedingest``: a thread, or
``crawl.workers`` worker processes): pages are parsed, matched and stored there, off the
reactor, and a poll that fetches no article never loads the rules at all.

Per source: at most one poll of a source runs at a time (a second is ``skipped``); each poll
has its time limit (Scrapy's ``CLOSESPIDER_TIMEOUT`` at ``crawl.timeout``, then the engine
closes the crawler ``page_timeout`` + ``GRACE`` later, and gives up on it 10 s after that);
its run is opened here, in one transaction with the due check (``submit(if_due=True)``:
adaptive polling, ``Retry-After``) and what the spider needs (the feed's validators, the last
complete crawl), handed to the crawl in its ``PollRecord``; the pipeline leaves how the crawl
ended on that record, and the run is closed with it and settled like a child's in one more
transaction (``monitor.crawl.outcome``: health, adaptive polling, the operator's notice).
At most ``max_crawls`` polls run at once, one per host (``_pump``); the others wait in a
queue. ``stop`` starts no queued poll, stops the running ones (they are recorded
``interrupted``) and waits for them.

The address guard's resolver (``GuardedResolver``) is the reactor's, so it is shared by every
crawl of the process: it allows private addresses if any configured source does (the
downloader middleware still refuses them, per source, on every hop).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.settings import Settings
from scrapy.spiderloader import get_spider_loader
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy import select
from sqlalchemy.orm import Session
from twisted.python.failure import Failure

from monitor.config.model import Config, Source
from monitor.crawl import settings as crawl_defaults
from monitor.crawl.context import CrawlContext, PollRecord
from monitor.crawl.health import is_due
from monitor.crawl.outcome import INTERRUPTED, CrawlResult, settle_run
from monitor.crawl.politeness import RobotsCache
from monitor.crawl.pollsettings import TemplateSettings
from monitor.crawl.safety import GuardedResolver
from monitor.crawl.settings import crawl_settings
from monitor.crawl.sharedingest import SharedIngest
from monitor.store.database import Database
from monitor.store.models import CrawlRun
from monitor.store.runs import health_of, start_run, validators_for

log = logging.getLogger(__name__)
GRACE = 30  # seconds past a crawl's own time limit before the engine closes it
ABANDON = 10.0  # seconds a crawler closed at its hard limit may take before it is given up
MAX_CRAWLS = 32  # polls running at once; the others queue
# What a crawl in a shared process must not do: measure the process's memory as its own, log
# its stats every minute, or format them all at its end (each poll's figures are in its run).
# Nor what is paid again at every poll for nothing monitor uses: reading and parsing the
# spider's source to warn about a generator returning a value (Scrapy caches the answer per
# bound method, that is per poll), and a log handler per crawl counting log lines by level.
ENGINE_SETTINGS: dict[str, object] = {
    "MEMUSAGE_ENABLED": False,
    "LOGSTATS_INTERVAL": 0,
    "STATS_DUMP": False,
    "WARN_ON_GENERATOR_RETURN_VALUE": False,
    "EXTENSIONS": {
        **crawl_defaults.EXTENSIONS,
        # The crawls run in the process that schedules them: no parent to outlive.
        "monitor.crawl.parentwatch.ParentWatch": None,
        "scrapy.extensions.logcount.LogCount": None,
    },
}
_reactor_ready = threading.Event()
_reactor_lock = threading.Lock()
_resolver: GuardedResolver | None = None


def start_reactor() -> Any:
    """The Twisted reactor of this process, running in its own thread (started at the first call).

    Scrapy's asyncio reactor on a new event loop in a daemon thread: it lives as long as the
    process, since a reactor cannot be started twice.
    """
    with _reactor_lock:
        if not _reactor_ready.is_set():
            thread = threading.Thread(target=_run_reactor, name="monitor-reactor", daemon=True)
            thread.start()
            if not _reactor_ready.wait(30):
                raise RuntimeError("the Twisted reactor did not start")
    from twisted.internet import reactor

    return reactor


def _run_reactor() -> None:
    from scrapy.utils.reactor import is_reactor_installed

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    if not is_reactor_installed():
        from twisted.internet import asyncioreactor

        asyncioreactor.install(loop)  # type: ignore[no-untyped-call]
    from twisted.internet import reactor

    running: Any = reactor
    running.callWhenRunning(_reactor_ready.set)
    running.run(installSignalHandlers=False)


def in_reactor(function: Callable[..., Any], *args: Any) -> Any:
    """Call ``function`` on the reactor thread and return its result (from any other thread)."""
    from twisted.internet import reactor, threads

    return threads.blockingCallFromThread(reactor, function, *args)


def _install_resolver(settings: Settings, allow_private: bool) -> None:
    """The address guard's resolver on the reactor; private answers allowed once any source allows them."""
    global _resolver
    from twisted.internet import reactor

    if _resolver is None:
        size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        _resolver = GuardedResolver(reactor, size, settings.getfloat("DNS_TIMEOUT"))
        _resolver.install_on_reactor()
        reactor.getThreadPool().adjustPoolsize(maxthreads=settings.getint("REACTOR_THREADPOOL_MAXSIZE"))
    _resolver.allow_private = _resolver.allow_private or allow_private


@dataclass(eq=False, slots=True)
class _Poll:
    """One poll of a source: queued, then running in a crawler, then settled."""

    source: Source
    future: Future[CrawlResult]
    timeout: float
    if_due: bool = False  # poll only if adaptive polling and Retry-After allow it now
    record: PollRecord | None = None
    started: float = 0.0
    crawler: Crawler | None = None
    lost: str | None = None  # why the engine gave the crawler up (time limit, shutdown)
    timer: Any = None


class CrawlEngine:
    """Runs polls of the sources of one ``Config`` as crawlers of one long-lived Scrapy engine.

    ``submit`` may be called from any thread; the result comes back as a ``Future``. The
    database must exist and be migrated already (``Database.open`` once before).
    """

    def __init__(
        self,
        config: Config,
        *,
        settings: Mapping[str, object] | None = None,
        max_crawls: int = MAX_CRAWLS,
    ) -> None:
        if config.path is None:
            raise ValueError("the crawl engine needs a Config loaded from a file")
        self.config = config
        self.max_crawls = max(1, max_crawls)
        self.database = Database(config.database_url)
        self.robots = RobotsCache()
        self.ingest = SharedIngest(config, self.database)
        self.context = CrawlContext(config, self.database, robots=self.robots, ingest=self.ingest)
        self.extra = {**ENGINE_SETTINGS, **(settings or {})}
        self.settings = TemplateSettings()  # each Crawler's copy of it is cheap (monitor.crawl.pollsettings)
        self.settings.setmodule(crawl_defaults, priority="project")
        self.settings.update(self.extra, priority="cmdline")
        self.queue: deque[_Poll] = deque()
        self.active: dict[str, _Poll] = {}
        self.hosts: set[str] = set()  # hosts of the running polls (one poll per host at a time)
        self.stopping = False
        self.closing = ThreadPoolExecutor(max_workers=2, thread_name_prefix="monitor-crawl-end")
        self.reactor = start_reactor()
        self.spider = get_spider_loader(self.settings).load("news")
        allow_private = any(source.allow_private for source in config.sources)
        in_reactor(_install_resolver, self.settings, allow_private)
        self._close_orphans()

    def submit(
        self, source: Source, *, timeout: float | None = None, if_due: bool = False
    ) -> Future[CrawlResult]:
        """Queue a poll of ``source``; the future holds its ``CrawlResult``.

        ``if_due``: a source that adaptive polling or a ``Retry-After`` says is not due yet
        is not polled (the result is ``skipped``, without a run); this is checked in the
        transaction that opens the poll's run.
        """
        crawl = self.config.crawl
        limit = timeout if timeout is not None else crawl.timeout + crawl.page_timeout + GRACE
        poll = _Poll(source, Future(), limit, if_due)
        self.reactor.callFromThread(self._enqueue, poll)
        return poll.future

    def crawl(
        self,
        sources: Iterable[Source],
        *,
        timeout: float | None = None,
        on_done: Callable[[CrawlResult], None] | None = None,
    ) -> list[CrawlResult]:
        """Poll ``sources`` now and wait for them all; ``on_done`` sees each result as it comes."""
        futures = [self.submit(source, timeout=timeout) for source in sources]
        for future in concurrent.futures.as_completed(futures):
            if on_done is not None:
                on_done(future.result())
        return [future.result() for future in futures]

    def busy(self) -> int:
        """Polls running or queued."""
        return len(self.active) + len(self.queue)

    def stop(self, grace: float = 10.0) -> None:
        """Start no queued poll, stop the running ones (recorded ``interrupted``), release everything."""
        self.stopping = True
        running: list[Future[CrawlResult]] = in_reactor(self._stop_all)
        concurrent.futures.wait(running, timeout=grace)
        in_reactor(self._abandon_all)
        concurrent.futures.wait(running, timeout=grace)
        self.closing.shutdown(wait=True)
        self.ingest.close()
        self.database.close()

    # -- on the reactor thread -------------------------------------------------------------
    def _enqueue(self, poll: _Poll) -> None:
        name = poll.source.name
        if self.stopping:
            poll.future.set_result(_unstarted(name, "monitor is shutting down", INTERRUPTED))
        elif name in self.active or any(queued.source.name == name for queued in self.queue):
            poll.future.set_result(_unstarted(name, "a poll of this source is already running", "skipped"))
        else:
            self.queue.append(poll)
            self._pump()

    def _pump(self) -> None:
        """Start queued polls while there is room, oldest first, one per host at a time.

        Each crawl keeps to ``crawl.per_domain`` requests in flight per host, but two crawls
        of one host (a site's feed and its sitemap, its section pages) would not know of each
        other: a poll whose host is being crawled waits for it, so a site never gets more
        than ``per_domain`` of our requests at once, however many of its sources are due.
        """
        passed: list[_Poll] = []
        while self.queue and len(self.active) < self.max_crawls and not self.stopping:
            poll = self.queue.popleft()
            if host_of(poll.source) in self.hosts:
                passed.append(poll)
            else:
                self._launch(poll)
        self.queue.extendleft(reversed(passed))

    def _launch(self, poll: _Poll) -> None:
        source = poll.source
        poll.started = time.monotonic()
        try:
            with self.database.transaction() as session:
                record = _open(session, source, datetime.now(UTC), if_due=poll.if_due)
            if record is None:
                poll.future.set_result(_unstarted(source.name, "not due yet", "skipped"))
                return
            poll.record = record
            # The template takes this crawl's values (the same keys every time) and the Crawler
            # copies it: one copy of Scrapy's settings per poll, not two.
            per_crawl = {**crawl_settings(self.config, source), "MONITOR_RUN_ID": record.run_id, **self.extra}
            self.settings.update(per_crawl, priority="cmdline")
            crawler = Crawler(self.spider, self.settings)
        except Exception as exc:  # the database is unreachable: the caller hears of it
            poll.future.set_exception(exc)
            return
        self.context.share(crawler, record)
        poll.crawler = crawler
        self.active[source.name] = poll
        self.hosts.add(host_of(source))
        poll.timer = self.reactor.callLater(poll.timeout, self._expire, poll)
        # Started as is, not through a CrawlerRunner: the runner would merge its settings (the
        # very template the crawler's were copied from) into the crawler's, about 300 settings
        # set again per poll to the values they have.
        crawler.crawl(source=source.name).addBoth(self._ended, poll)

    def _ended(self, outcome: object, poll: _Poll) -> None:
        if poll.timer is not None and poll.timer.active():
            poll.timer.cancel()
        if isinstance(outcome, Failure):
            log.error("crawl of %s failed: %s", poll.source.name, outcome.getTraceback())
            poll.lost = poll.lost or f"the crawl failed: {outcome.getErrorMessage()}"
        self._release(poll)

    def _release(self, poll: _Poll) -> None:
        """Free the poll's place, start the next, settle the poll in a closing thread (once)."""
        if self.active.get(poll.source.name) is poll:
            del self.active[poll.source.name]
            self.hosts.discard(host_of(poll.source))
            self._pump()
            self.closing.submit(self._settle, poll)

    def _expire(self, poll: _Poll) -> None:
        """The hard time limit: close the crawler, and give it up if it does not close."""
        poll.lost = f"timed out after {poll.timeout:.0f} s and was stopped"
        log.warning("crawl of %s %s", poll.source.name, poll.lost)
        crawler = poll.crawler
        if crawler is not None and crawler.crawling:
            _close(crawler, "engine_timeout")
        self.reactor.callLater(ABANDON, self._release, poll)

    def _stop_all(self) -> list[Future[CrawlResult]]:
        while self.queue:
            poll = self.queue.popleft()
            poll.future.set_result(_unstarted(poll.source.name, "monitor is shutting down", INTERRUPTED))
        for poll in self.active.values():
            if poll.crawler is not None and poll.crawler.crawling:
                _close(poll.crawler, "shutdown")  # the pipeline records the run as interrupted
        return [poll.future for poll in self.active.values()]

    def _abandon_all(self) -> None:
        for poll in list(self.active.values()):
            poll.lost = "stopped by monitor's shutdown"
            self._release(poll)

    # -- in a closing thread ---------------------------------------------------------------
    def _settle(self, poll: _Poll) -> None:
        assert poll.record is not None
        try:
            result = settle_run(
                self.config,
                self.database,
                poll.source,
                poll.record.run_id,
                time.monotonic() - poll.started,
                lost=poll.lost,
                stopped=self.stopping,
                end=poll.record.end,
            )
        except BaseException as exc:
            poll.future.set_exception(exc)
            return
        poll.future.set_result(result)

    def _close_orphans(self) -> None:
        """Close as interrupted the runs a killed process left ``running`` (as ``crawl_source`` does)."""
        from monitor.crawl.runner import close_orphaned_runs

        with self.database.transaction() as session:
            names = set(session.scalars(select(CrawlRun.source).where(CrawlRun.status == "running")))
        for name in names:
            close_orphaned_runs(self.database, name)


def _open(session: Session, source: Source, now: datetime, *, if_due: bool) -> PollRecord | None:
    """Open a poll's run with what its spider needs; None if ``if_due`` and the source is not due.

    One transaction instead of three (the due check, the run, the spider's reads): the
    source's health row says whether it is due and when its last complete crawl was.
    """
    health = health_of(session, source.name)
    if if_due and not is_due(health, now):
        return None
    validators = validators_for(session, [source.url]).get(source.url)
    return PollRecord(start_run(session, source.name, now), validators, health.last_complete_at)


def host_of(source: Source) -> str:
    """The host (and port) a source's crawl starts at, the unit of politeness across sources."""
    return urlsplit(source.url).netloc.lower()


def _close(crawler: Crawler, reason: str) -> None:
    """Close a running crawl with ``reason``, which its pipeline sees (it closes before Scrapy records it)."""
    if crawler.stats is not None:
        crawler.stats.set_value("finish_reason", reason)
    deferred_from_coro(crawler.engine.close_spider_async(reason=reason))


def _unstarted(source: str, why: str, status: str) -> CrawlResult:
    return CrawlResult(source, status != "failed", 0, 0, 0.0, why, status)
