"""``monitor run``: APScheduler 3.x jobs for crawls and the alert dispatcher.

APScheduler keeps its jobs in the same database (the table of its SQLAlchemy job store), so
a restart resumes the schedule; ``monitor.ops.jobstore`` serves them from memory and writes
a job's new run time within a second rather than at every run. It pickles each job's
function reference and arguments: the jobs below are module-level functions taking only
plain strings, and their names must stay stable (a job that cannot be unpickled is deleted
by the job store). ``coalesce`` merges a backlog into one run, ``max_instances=1`` forbids
overlapping crawls of one source, and ``misfire_grace_time=None`` (no limit, instead of
APScheduler's 1 s) so a crawl missed while the process was busy or down still runs.

Crawls run in one long-lived Scrapy engine in this process (``monitor.crawl.engine``,
``crawl.in_process``, the default): a crawl job hands the poll to the engine without
waiting for it (the engine checks that the source is due in the transaction that opens its
run), so a few scheduler threads keep thousands of sources polling; a poll that stored
articles asks the dispatch job to run at once. The dispatch and rule-check jobs keep what
they loaded between runs (``monitor.ops.kept``). With ``in_process: false`` each crawl is a
``scrapy crawl`` child process (``monitor.crawl.runner``), and with ``scrapyd`` configured
the crawls go to scrapyd as before. A source new to the job store is first polled at a
place in its interval given by its rank among the new sources, so that thousands of
sources do not all start at once (a few sources still start within seconds); after that
each keeps its own interval.

The job store must not be shared by two running schedulers (APScheduler's FAQ), so one
scheduler is active per database (``monitor.store.locks``): on PostgreSQL further ``monitor run``
processes stand by and take over when it dies; on SQLite they are refused.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config.dburl import driver_url
from monitor.config.declare import default_of
from monitor.config.model import Config, Schedule, Source, load_config
from monitor.config.values import cron_trigger
from monitor.crawl import scrapyd
from monitor.crawl.engine import CrawlEngine
from monitor.crawl.outcome import INTERRUPTED, CrawlResult
from monitor.crawl.runner import (
    allow_children,
    crawl_if_due,
    stop_children,
    stopping,
)
from monitor.errors import StorageError
from monitor.ops.jobstore import KeptJobStore
from monitor.ops.kept import KeptDispatcher, RuleCheck
from monitor.ops.metrics import serve_metrics
from monitor.store.database import Database
from monitor.store.locks import Lock, scheduler_lock
from monitor.store.outage import Outage, is_unreachable
from monitor.watch.state import running_rules

log = logging.getLogger(__name__)
JOB_PREFIX = "crawl:"
DISPATCH_JOB = "dispatch"
RULES_JOB = "rules"
_rule_reports: dict[str, str] = {}  # config path -> the rule errors last logged
_rule_check = RuleCheck()  # the rule files as last checked: unchanged files are not loaded again
_dispatcher = KeptDispatcher()  # one dispatcher between dispatch runs (guarded by _dispatch_lock)
STANDBY_POLL = 2.0  # seconds between a standby's tries of the scheduler lock
_dispatch_lock = threading.Lock()  # one dispatcher per process (run_dispatch_job)
_dispatch_wanted = threading.Event()
_job_outage = Outage(log, "the scheduled jobs")  # one log line per outage, whichever job meets it
FIRST_SPACING = 0.25  # seconds between the first polls of new sources, at most (spread over the interval)
_engine: CrawlEngine | None = None  # the crawl engine of the active scheduler (``_lead``)
_scheduler: BackgroundScheduler | None = None
_configs: dict[str, tuple[tuple[int, int], Config]] = {}  # path -> (its mtime and size, the Config)
_configs_lock = threading.Lock()


def _config(config_path: str) -> Config:
    """monitor.yaml, loaded again only when the file changed: every poll's job would parse it."""
    stat = os.stat(config_path)
    key = (stat.st_mtime_ns, stat.st_size)
    with _configs_lock:
        cached = _configs.get(config_path)
        if cached is not None and cached[0] == key:
            return cached[1]
    config = load_config(config_path)
    with _configs_lock:
        _configs[config_path] = (key, config)
    return config


@contextmanager
def _outage_tolerant() -> Iterator[None]:
    """Run a job's body; a database that cannot be reached makes one log line per outage.

    The job simply runs again at its next time: a crawl or dispatch missed during a blip
    is due again, and nothing it had done is lost (every step is its own transaction).
    """
    try:
        yield
    except Exception as exc:
        if not is_unreachable(exc):
            raise
        _job_outage.failed(exc)
        return
    _job_outage.recovered()


def run_crawl_job(config_path: str, source_name: str) -> None:
    """Scheduled job: crawl one source, then send what it matched (stable name: pickled)."""
    with _outage_tolerant():
        _crawl_job(config_path, source_name)


def _crawl_job(config_path: str, source_name: str) -> None:
    config = _config(config_path)
    if config.scrapyd:  # scrapyd nodes run the crawl; the dispatch job sends what it matches
        source = config.source(source_name)
        if not scrapyd.due(config, source):  # adaptive polling may say not yet
            return
        try:
            handoff = scrapyd.hand_to_scrapyd(config, source)
        except scrapyd.ScrapydError as exc:
            log.warning("crawl of %s not handed to scrapyd: %s", source_name, exc)
            return
        log.info("crawl of %s: scrapyd %s job %s", source_name, handoff.node, handoff.job or "already queued")
        return
    if stopping():  # queued before shutdown began: it must not start now
        log.info("crawl of %s not started: monitor is shutting down", source_name)
        return
    engine = _engine
    if engine is not None and config.crawl.in_process:
        _poll(engine, config, config_path, config.source(source_name))
        return
    result = crawl_if_due(config, config.source(source_name))  # adaptive polling may say not yet
    if result is None or result.status == INTERRUPTED:
        return
    if not result.ok:
        log.warning("crawl of %s failed: %s", source_name, result.error)
    run_dispatch_job(config_path)


def _poll(engine: CrawlEngine, config: Config, config_path: str, source: Source) -> None:
    """Hand a poll of ``source`` to the engine, polled if it is due; do not wait for it.

    Whether it is due (adaptive polling, a ``Retry-After``) the engine checks in the
    transaction that opens the poll's run.
    """

    def done(future: Future[CrawlResult]) -> None:
        try:
            result = future.result()
        except Exception as exc:
            if not is_unreachable(exc):
                log.exception("poll of %s failed", source.name)
                return
            _job_outage.failed(exc)
            return
        if not result.ok and result.status != INTERRUPTED:
            log.warning("crawl of %s failed: %s", source.name, result.error)
        if result.stored:
            _dispatch_now()

    engine.submit(source, if_due=True).add_done_callback(done)


def _dispatch_now() -> None:
    """Run the dispatch job at once (in the scheduler's threads) rather than at its next tick."""
    scheduler = _scheduler
    if scheduler is None:
        return
    try:
        scheduler.modify_job(DISPATCH_JOB, next_run_time=datetime.now(UTC))
    except Exception:  # the scheduler is shutting down, or the job store unreachable: the tick comes
        log.debug("dispatch not brought forward", exc_info=True)


def run_rules_job(config_path: str) -> None:
    """Scheduled job: re-read the rule files, keep the last good version of a broken one in
    the database for the crawls, and log errors once when they appear (stable name: pickled).
    """
    with _outage_tolerant():
        _rules_job(config_path)


def _rules_job(config_path: str) -> None:
    config = _config(config_path)
    key = _rule_check.changed(config_path, config)
    if key is None:  # the files this check has seen already: nothing new to store or log
        return
    with Database.open(config.database_url) as database:
        _, errors = running_rules(database, config.rule_paths)
    _rule_check.done(config_path, key)
    report = "\n".join(str(error) for error in errors)
    if report == _rule_reports.get(config_path, ""):
        return
    for error in errors:
        log.error("rule file broken, its last good version keeps running: %s", error)
    if not errors:
        log.warning("rule files load cleanly again")
    _rule_reports[config_path] = report


def run_dispatch_job(config_path: str) -> None:
    """Scheduled job: send every due alert (stable name: pickled).

    One dispatch at a time per process: the dispatch job and the dispatch after each crawl
    would otherwise send side by side, and a kill of the process would then cut two sends
    short (two duplicates) instead of one. A dispatch asked for while one runs is not lost:
    the running one goes round once more. The dispatcher is kept between runs
    (``monitor.ops.kept``) until monitor.yaml or the rule files change.
    """
    _dispatch_wanted.set()
    while _dispatch_wanted.is_set():  # checked after the lock is released: no request is missed
        if not _dispatch_lock.acquire(blocking=False):
            return  # the running dispatch has seen the request and will go round again
        try:
            _dispatch_wanted.clear()
            with _outage_tolerant():
                _dispatcher.get(_config(config_path)).dispatch_due()  # also sends due digests
        finally:
            _dispatch_lock.release()


def _trigger(source: Source) -> IntervalTrigger | CronTrigger:
    schedule = source.schedule
    if schedule.cron is not None:
        return cron_trigger(schedule.cron, "UTC")
    every = schedule.every or default_of(Schedule, "every")
    return IntervalTrigger(seconds=every, jitter=schedule.jitter or None, timezone="UTC")


class _Scheduler(BackgroundScheduler):  # type: ignore[misc]
    """A BackgroundScheduler that starts no job once shutdown has begun.

    APScheduler 3's loop runs ``_process_jobs`` once more when ``shutdown`` wakes it; the
    executors are gone by then, so every job due at that moment fails to submit and its
    run is skipped (its next run time moves on). Stopping here keeps those runs due, so
    they happen at the next start.
    """

    def _process_jobs(self) -> float | None:
        if self.state == STATE_STOPPED:
            return None
        wait: float | None = super()._process_jobs()
        for store in self._jobstores.values():  # wake up to write a job store's pending rows
            due = store.flush_due() if isinstance(store, KeptJobStore) else None
            if due is not None:
                wait = due if wait is None else min(wait, due)
        return wait


def build_scheduler(config: Config) -> BackgroundScheduler:
    """A scheduler with one crawl job per source and the dispatcher, stored in the database."""
    if config.path is None:
        raise ValueError("the scheduler needs a Config loaded from a file")
    url = driver_url(config.database_url)
    scheduler = _Scheduler(
        jobstores={"default": KeptJobStore(url=url, tablename="apscheduler_jobs")},
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone="UTC",
    )
    return scheduler


def sync_jobs(scheduler: BackgroundScheduler, config: Config) -> None:
    """Make the stored jobs match monitor.yaml without losing their place in time.

    A job whose schedule is unchanged keeps its stored next run time, so a run missed while
    monitor was down happens once at start (coalesced). A new source is crawled at once; a
    changed schedule is rescheduled; a removed source's job is dropped.
    """
    path = str(config.path)
    wanted = {DISPATCH_JOB, RULES_JOB}
    new = [source for source in config.sources if scheduler.get_job(JOB_PREFIX + source.name) is None]
    rank = {source.name: index for index, source in enumerate(new)}
    for source in config.sources:
        job_id = JOB_PREFIX + source.name
        wanted.add(job_id)
        _ensure_job(
            scheduler,
            job_id,
            f"crawl {source.name} ({_describe(source)})",
            run_crawl_job,
            _trigger(source),
            [path, source.name],
            first=_first_offset(source, rank.get(source.name, 0), len(new)),
        )
    dispatch = IntervalTrigger(seconds=config.dispatch_every, timezone="UTC")
    _ensure_job(
        scheduler,
        DISPATCH_JOB,
        f"dispatch alerts (every {config.dispatch_every}s)",
        run_dispatch_job,
        dispatch,
        [path],
    )
    _ensure_job(
        scheduler,
        RULES_JOB,
        f"check rule files (every {config.dispatch_every}s)",
        run_rules_job,
        IntervalTrigger(seconds=config.dispatch_every, timezone="UTC"),
        [path],
    )
    for job in scheduler.get_jobs():
        if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
            job.remove()


def _ensure_job(
    scheduler: BackgroundScheduler,
    job_id: str,
    name: str,
    func: Callable[..., None],
    trigger: IntervalTrigger | CronTrigger,
    args: list[str],
    first: float = 0.0,
) -> None:
    """Add the job (first run in ``first`` seconds), or reschedule it if its name (its schedule) changed."""
    job = scheduler.get_job(job_id)
    if job is None:
        scheduler.add_job(
            func,
            trigger=trigger,
            args=args,
            id=job_id,
            name=name,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC) + timedelta(seconds=first),
        )
    elif job.name != name or list(job.args) != args:
        job.modify(name=name, args=args)
        job.reschedule(trigger)


def _first_offset(source: Source, rank: int, count: int) -> float:
    """Seconds until the first poll of the ``rank``-th of ``count`` new sources.

    The new sources of an interval schedule are spread evenly over the interval, and at most
    ``FIRST_SPACING`` apart: 2,000 sources every 5 minutes start 0.15 s apart, three sources
    within half a second. The first new source starts at once; a cron schedule keeps its own times.
    """
    every = source.schedule.every
    if source.schedule.cron is not None or not every or count <= 0:
        return 0.0
    return rank * min(every / count, FIRST_SPACING)


def _describe(source: Source) -> str:
    """The schedule in words; stored as part of the job name to notice changes."""
    schedule = source.schedule
    when = f"cron {schedule.cron}" if schedule.cron else f"every {schedule.every}s"
    return f"{when}, jitter {schedule.jitter}s"


def run_forever(
    config: Config,
    on_start: Callable[[BackgroundScheduler], None] | None = None,
    *,
    on_standby: Callable[[], None] | None = None,
    poll: float = STANDBY_POLL,
) -> None:
    """Run the scheduler until SIGINT or SIGTERM, then stop jobs and crawl children cleanly.

    Only one scheduler may be active per database (``monitor.store.locks.scheduler_lock``): on
    PostgreSQL a second one waits as a standby, polling every ``poll`` seconds, and takes
    over when the active one dies; on SQLite it is refused. A leader that loses its lock
    (its database session dropped: a network blip, a failover) stops its scheduler and
    crawls, so that it never runs beside a standby that has taken over, and stands by
    itself until it can take the lock back.
    """
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping", signum)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    metrics = None
    first = True
    try:
        if config.metrics_port is not None:
            metrics = serve_metrics(config.database_url, config.metrics_port)
        while not stop.is_set():
            if metrics is not None:
                metrics.set_role("standby")
            lock = _take_lock(config, stop, poll, on_standby, wait_for_server=not first)
            if lock is None:  # stopped while standing by
                return
            if metrics is not None:
                metrics.set_role("leader")
            try:
                _lead(config, lock, stop, on_start if first else None)
            except Exception as exc:
                if not is_unreachable(exc):
                    raise
            finally:
                lock.release()
            first = False
            if not stop.is_set():
                log.warning("lost the scheduler lock (database unreachable): standing by to take it back")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if metrics is not None:
            metrics.stop()


def _take_lock(
    config: Config,
    stop: threading.Event,
    poll: float,
    on_standby: Callable[[], None] | None,
    *,
    wait_for_server: bool,
) -> Lock | None:
    """The scheduler lock, or None once ``stop`` is set while waiting for it.

    At the first start an unreachable database is an error (a wrong URL should say so at
    once); a leader taking its lock back after an outage waits for the server instead.
    """
    outage = Outage(log, "the scheduler")
    while True:
        try:
            lock = scheduler_lock(config.database_url, stop, poll=poll, on_wait=on_standby)
        except StorageError as exc:
            if not wait_for_server or not is_unreachable(exc):
                raise
            if stop.wait(outage.failed(exc)):
                return None
            continue
        outage.recovered()
        return lock


def _lead(
    config: Config,
    lock: Lock,
    stop: threading.Event,
    on_start: Callable[[BackgroundScheduler], None] | None,
) -> None:
    """Schedule every job while ``lock`` is held; return when ``stop`` is set or the lock is lost."""
    # Migrate once, here, before any job runs: the first crawl, dispatch and rule-check
    # jobs start together, and Alembic run from several threads at once fails them all.
    # The job store's own table must not come first either, or a fresh SQLite database
    # looks like one created by an old monitor without a schema revision.
    global _engine, _scheduler
    Database.open(config.database_url).close()
    scheduler = build_scheduler(config)
    allow_children()
    if config.crawl.in_process and not config.scrapyd:
        _engine = CrawlEngine(config)
    _scheduler = scheduler
    try:
        scheduler.start(paused=True)
        sync_jobs(scheduler, config)
        scheduler.resume()
        if on_start is not None:
            on_start(scheduler)
        while not stop.wait(1.0) and lock.held():
            pass
    finally:
        stop_children()
        engine, _engine = _engine, None
        if engine is not None:
            engine.stop()
        if scheduler.running:
            scheduler.pause()  # no new job starts while the executors shut down
            scheduler.shutdown(wait=True)
        _scheduler = None
        with _dispatch_lock:
            _dispatcher.close()
