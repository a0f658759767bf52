"""parse -> store -> match -> outbox for fetched pages, in the crawl process or in worker processes.

``Ingester`` is the unit of work: ``parse`` turns raw pages into ``Article``s
(``monitor.parse``: lxml, trafilatura), ``store`` saves a batch of them, matches the rules
(``monitor.watch.rules``) and writes the alerts in one transaction. By default both run in the
crawl process. With ``crawl.workers`` above 0, the crawl process only fetches: it hands
the raw pages to ``IngestPool`` worker processes through a bounded ``multiprocessing``
queue, and each worker parses, matches and stores what is queued (up to ``BATCH`` pages
per transaction). Parsing is the largest cost of a page, more than Scrapy spends fetching
it, so it is the work that must spread over the cores. When the workers fall behind (two
batches per worker waiting), the crawl process parses pages itself and queues the
articles, so every core parses and the split between them finds its own balance. Raw
pages are queued only while fewer than two batches per worker (and half the queue) wait,
so of the queue's ``QUEUE`` places at most that many hold raw pages (32 for one worker),
the rest parsed articles of a few KB. Workers are *spawned*,
never forked: the crawl process runs Twisted and threads, which do not survive a fork.

A page that fails here is recorded as a failure of the crawl run (``monitor.store.runs``) with
its reason, and the work goes on with the next page: ``unparsable`` (``ParseError``),
``empty-body`` (fewer than ``MIN_BODY_WORDS`` words and ``MIN_BODY_CHARACTERS`` letters
or digits: a cookie wall, a paywall stub, a page of scripts), ``url-too-long`` and
``unstorable`` (the database refused the article: its batch is rolled back and stored
again one article per transaction, so only the culprit is lost). Losing the database
connection is not a page's fault: that still ends the crawl.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session

from monitor.article import Article
from monitor.config.model import Config, Source, load_config
from monitor.errors import MonitorError, NoArticleText, ParseError, quoted
from monitor.matching.text import words
from monitor.store.database import Database, NewMatch, UnstorableArticle, save_article, save_matches, storable
from monitor.store.runs import Failure, record_failures
from monitor.watch.rules import RuleMatch, RuleSet
from monitor.watch.state import running_rules

log = logging.getLogger(__name__)
EMPTY_HINT = "nothing to store or match (a cookie wall, a paywall, a page built by scripts?)"
BATCH = 16
QUEUE = 200  # pages and articles waiting for a worker (raw pages: see ``IngestPool.behind``)
PARENT_CHECK = 2.0  # seconds a worker waits for a page before checking its parent is alive
MIN_BODY_WORDS = 20  # a body with fewer words...
MIN_BODY_CHARACTERS = 100  # ...and fewer letters and digits (Chinese has few "words") is empty
_WORDS_PREFIX = 1_000  # characters of a body counted first: see ``empty_body``
_STOP = None
# What storing one article can raise because of that article (a value the database or its
# driver refuses); the connection errors are not the article's fault and end the crawl.
_ARTICLE_ERRORS = (SQLAlchemyError, ValueError)
_CONNECTION_ERRORS = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched article page, as it crosses the queue to a worker."""

    url: str
    body: bytes
    encoding: str | None = None
    links: tuple[str, ...] = ()  # the feed or listing link and redirects that led to ``url``


@dataclass(slots=True)
class Counts:
    """What ingesting some pages did."""

    pages: int = 0
    stored: int = 0
    alerts: int = 0
    failed: Counter[str] = field(default_factory=Counter)  # pages recorded as failures, by reason

    def add(self, other: Counts) -> None:
        """Add ``other``'s figures to these."""
        self.pages += other.pages
        self.stored += other.stored
        self.alerts += other.alerts
        self.failed.update(other.failed)


def channels_for(rule_channels: tuple[str, ...], config: Config) -> tuple[str, ...]:
    """A rule's channel tags; a rule that names none goes to every configured channel."""
    return rule_channels or tuple(config.channels)


def load_ruleset(config: Config, database: Database) -> RuleSet:
    """The config's rules; a broken rule file is logged and runs in its last good version.

    The files are read through ``monitor.watch.cache`` (reading thousands of rules from YAML
    costs seconds that need not be spent in every crawl), and ``monitor.watch.state`` keeps
    the last good version of each file in the database for when one breaks.
    """
    rules, errors = running_rules(database, config.rule_paths)
    for error in errors:
        log.error("rule file broken, its last good version runs: %s", error)
    return rules


def empty_body(body: str) -> bool:
    """Whether ``body`` is too short to be an article: see ``MIN_BODY_WORDS``.

    A prefix of the text holds no more words than the whole, so the words of its first
    ``_WORDS_PREFIX`` characters settle it for nearly every article without cutting the
    whole body into words (a 5 KB body costs four times as much).
    """
    if len(words(body[:_WORDS_PREFIX])) >= MIN_BODY_WORDS or len(words(body)) >= MIN_BODY_WORDS:
        return False
    return sum(character.isalnum() for character in body) < MIN_BODY_CHARACTERS


class Ingester:
    """Parses pages of one source, stores the articles, matches the rules, queues alerts.

    With a database and a crawl run id, the pages that fail are recorded as failures of
    that run; without, they are only counted (and logged).
    """

    def __init__(
        self,
        config: Config,
        source: Source,
        rules: RuleSet | None,
        database: Database | None,
        run_id: int | None = None,
    ) -> None:
        self.config = config
        self.source = source
        self.rules = rules
        self.database = database
        self.run_id = run_id

    def ingest(self, pages: Sequence[Page], parsed: Sequence[Article] = ()) -> Counts:
        """Parse every page, then store and match its article and ``parsed`` in one transaction.

        ``parsed`` are articles of pages already parsed (and counted) elsewhere.
        """
        articles, failures = self.parse(pages)
        self.record(failures)
        counts = self.store([*parsed, *articles])
        counts.pages = len(pages)
        counts.failed.update(failure.reason for failure in failures)
        return counts

    def parse(self, pages: Sequence[Page]) -> tuple[list[Article], list[Failure]]:
        """The articles of ``pages``, and a failure for each page that holds none."""
        from monitor.parse import parse_html  # here: a worker that only stores never loads the parser

        articles: list[Article] = []
        failures: list[Failure] = []
        for page in pages:
            try:
                article = parse_html(
                    page.body,
                    page.url,
                    encoding=page.encoding,
                    source=self.source.name,
                    selectors=self.source.selectors,
                )
            except NoArticleText as exc:
                failures.append(Failure(page.url, "empty-body", f"{exc}: {EMPTY_HINT}"))
                continue
            except ParseError as exc:
                failures.append(Failure(page.url, "unparsable", str(exc)))
                continue
            except Exception as exc:  # a parser bug on a hostile page loses that page, not the crawl
                log.exception("the parser failed on %s", page.url)
                failures.append(Failure(page.url, "parse-error", f"the parser failed: {_short(exc)}"))
                continue
            if empty_body(article.body):
                count = len(words(article.body))
                failures.append(
                    Failure(
                        page.url,
                        "empty-body",
                        f"the article body has {count} word(s), fewer than {MIN_BODY_WORDS}: {EMPTY_HINT}",
                    )
                )
                continue
            articles.append(article.replace(links=page.links) if page.links else article)
        return articles, failures

    def record(self, failures: Sequence[Failure]) -> None:
        """Record ``failures`` in the crawl run, each logged; a separate transaction, so they stay."""
        for failure in failures:
            log.warning("failed %s: %s (%s)", failure.url, failure.reason, failure.detail)
        if not failures or self.database is None or self.run_id is None:
            return
        with self.database.transaction() as session:
            record_failures(session, self.run_id, self.source.name, failures, datetime.now(UTC))

    def store(self, articles: Sequence[Article]) -> Counts:
        """Match ``articles``, then store them with their matches and alerts in one transaction.

        An article the database refuses is recorded as a failure; the others are stored.
        """
        counts = Counts()
        if not articles:
            return counts
        if self.rules is None or self.database is None:
            raise MonitorError("this Ingester only parses: it has no rules or database")
        ready: list[Article] = []
        failures: list[Failure] = []
        for article in articles:
            try:
                ready.append(storable(article))
            except UnstorableArticle as exc:
                failures.append(Failure(article.url, exc.reason, str(exc)))
        rules = self.rules
        work = [(article, rules.match(article)) for article in ready]
        now = datetime.now(UTC)
        try:
            with self.database.transaction() as session:
                for article, found in work:
                    self._save(session, article, found, now, counts)
        except _ARTICLE_ERRORS as exc:
            if isinstance(exc, _CONNECTION_ERRORS):
                raise
            # The batch is rolled back: store it again one article per transaction, so that
            # only the article that cannot be stored is lost.
            counts = Counts()
            for article, found in work:
                failure = self._store_one(article, found, now, counts)
                if failure is not None:
                    failures.append(failure)
        self.record(failures)
        counts.failed.update(failure.reason for failure in failures)
        return counts

    def _store_one(
        self, article: Article, found: list[RuleMatch], now: datetime, counts: Counts
    ) -> Failure | None:
        assert self.database is not None
        one = Counts()
        try:
            with self.database.transaction() as session:
                self._save(session, article, found, now, one)
        except _ARTICLE_ERRORS as exc:
            if isinstance(exc, _CONNECTION_ERRORS):
                raise
            log.warning("cannot store %s", article.url, exc_info=True)
            return Failure(article.url, "unstorable", f"the database refused the article: {_short(exc)}")
        counts.add(one)
        return None

    def _save(
        self, session: Session, article: Article, found: list[RuleMatch], now: datetime, counts: Counts
    ) -> None:
        row = save_article(session, article, now)
        if row is None:
            return
        counts.stored += 1
        new = [
            NewMatch(
                match.rule.name,
                match.terms,
                match.snippet,
                channels_for(match.rule.channels, self.config),
            )
            for match in found
        ]
        counts.alerts += save_matches(session, row, new, now)


def _short(exc: BaseException) -> str:
    """The exception's first line, without the statement and parameters SQLAlchemy appends."""
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip().splitlines()
    return f"{type(original or exc).__name__}: {quoted(text[0] if text else '', limit=300)}"


class IngestPool:
    """Worker processes running ``Ingester``s on pages put in a bounded queue."""

    def __init__(
        self, config_path: str, source: str, workers: int, queue_size: int = QUEUE, run_id: int | None = None
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self.jobs: multiprocessing.Queue[Page | Article | None] = context.Queue(maxsize=queue_size)
        self.capacity = queue_size
        self.results: multiprocessing.Queue[tuple[str, Any]] = context.Queue()
        self.processes = [
            context.Process(
                target=_work,
                args=(config_path, source, self.jobs, self.results, run_id),
                name=f"monitor-ingest-{index}",
                daemon=True,
            )
            for index in range(workers)
        ]

    def start(self) -> IngestPool:
        """Start the workers; they load the config and compile the rules while pages arrive."""
        for process in self.processes:
            process.start()
        return self

    def put(self, job: Page | Article, timeout: float | None = None) -> bool:
        """Queue a page to parse or an article parsed already; False if the queue stayed full."""
        try:
            self.jobs.put(job, block=timeout is not None, timeout=timeout)
        except queue.Full:
            return False
        return True

    def behind(self) -> bool:
        """Whether the workers have fallen behind: two batches each (or half the queue) waiting.

        Kept low: what is queued when the crawl ends is left to the workers alone.
        """
        try:
            return self.jobs.qsize() >= min(self.capacity // 2, 2 * BATCH * len(self.processes))
        except NotImplementedError:  # macOS has no sem_getvalue: the workers parse everything
            return False

    def alive(self) -> bool:
        """Whether any worker is still running (one that crashed reports nothing more)."""
        return any(process.is_alive() for process in self.processes)

    def close(self, timeout: float = 600.0) -> Counts:
        """Let the workers finish what is queued, then collect their figures."""
        deadline = time.monotonic() + timeout
        for _ in self.processes:
            while self.alive():
                with contextlib.suppress(queue.Full):
                    self.jobs.put(_STOP, timeout=1.0)
                    break
        total = Counts()
        errors: list[str] = []
        reported = 0
        while reported < len(self.processes) and time.monotonic() < deadline:
            try:
                kind, value = self.results.get(timeout=1.0)
            except queue.Empty:
                if not self.alive():
                    break  # the rest died without a word (killed, out of memory)
                continue
            reported += 1
            if kind == "error":
                errors.append(str(value))
            else:
                total.add(value)
        if reported < len(self.processes):
            errors.append(f"{len(self.processes) - reported} ingest worker(s) died or did not report back")
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
        if errors:
            raise MonitorError("ingest worker failed: " + " | ".join(errors))
        return total


def _work(
    config_path: str,
    source_name: str,
    jobs: multiprocessing.Queue[Page | Article | None],
    results: multiprocessing.Queue[tuple[str, Any]],
    run_id: int | None = None,
) -> None:
    """A worker process: parse, match and store batches from ``jobs`` until told to stop, then report.

    The pages that fail are recorded in crawl run ``run_id`` as they fail.
    """
    database = None
    try:
        config = load_config(config_path)
        database = Database(config.database_url)  # the crawl process checked the schema
        rules = load_ruleset(config, database)
        ingester = Ingester(config, config.source(source_name), rules, database, run_id)
        total = Counts()
        stopping = False
        while not stopping:
            try:
                job = jobs.get(timeout=PARENT_CHECK)
            except queue.Empty:
                parent = multiprocessing.parent_process()
                if parent is not None and not parent.is_alive():
                    return  # the crawl process is gone (killed at its time limit): stop too
                continue
            batch = [job] if job is not None else []
            stopping = job is None
            while not stopping and len(batch) < BATCH:
                try:
                    job = jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                else:
                    batch.append(job)
            if batch:
                pages = [job for job in batch if isinstance(job, Page)]
                parsed = [job for job in batch if isinstance(job, Article)]
                total.add(ingester.ingest(pages, parsed))
        results.put(("ok", total))
    except BaseException:  # report any crash to the parent, which fails the crawl with it
        results.put(("error", traceback.format_exc(limit=5)))
        raise
    finally:
        if database is not None:
            database.close()
