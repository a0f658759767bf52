"""Storage: engine set-up and every query the pipeline runs, on SQLite or PostgreSQL.

SQLAlchemy 2 does the work. SQLite gets WAL mode, a busy timeout and ``BEGIN IMMEDIATE``
for every transaction, because a transaction that reads and then writes would otherwise
fail with "database is locked" instead of waiting. Inserts use ``ON CONFLICT DO NOTHING``
so that the database's unique constraints, not Python checks, decide what is a duplicate.

Before an article is stored its text is clean (``Article`` runs ``clean_text`` on every
field) and its URLs fit their columns (``storable``): an article whose canonical URL is
longer than ``MAX_URL_LENGTH`` is refused with ``UnstorableArticle`` rather than cut, as
two URLs cut to the same 2,048 characters would become one article. Besides the canonical
URL, the addresses a page was fetched from are remembered (``article_urls``), so that
``known_urls`` answers for a feed link such as ``/a?cmp=rss`` whose page declares ``/a``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from hashlib import sha256
from typing import Any, Protocol

from sqlalchemy import Engine, bindparam, create_engine, event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, joinedload, sessionmaker

from monitor.article import Article
from monitor.config.dburl import driver_url, is_sqlite
from monitor.errors import StorageError, quoted
from monitor.store.desk import muted
from monitor.store.dialects import conflict_insert
from monitor.store.models import AlertRow, ArticleRow, ArticleURL, MatchRow, Story, StoryBand
from monitor.store.outbox import ALERT_STATUSES
from monitor.store.stories import SIMILARITY_THRESHOLD, Signature
from monitor.urls import canonical_url as _canonical

MAX_URL_LENGTH = 2048  # characters of a stored URL: the articles.url and canonical_url columns
MIN_WORDS_FOR_CLUSTERING = 25  # shorter bodies are too thin to call two articles one story
# WAL pages written before SQLite copies them back into the database file (its default is
# 1,000). Every transaction rewrites the same last pages of the append-only tables and their
# indexes, and the full-text index's structure pages: the WAL holds many copies of them, and a
# checkpoint copies each page once, so checkpointing ten times less often saves about a quarter
# of the CPU a crawl's commits cost (measured over 2,000 stored pages). The WAL file grows
# to about 40 MB.
SQLITE_CHECKPOINT_PAGES = 10_000
STORY_LOCK_CLASS = 0x6D6F73  # advisory lock "class" id ("mos"; monitor.store.locks has the others)
_STORY_LOCK = "monitor.store.database: story lock"  # session.info key: the transaction that holds it
_TAKE_STORY_LOCK = text("SELECT pg_advisory_xact_lock(:cls, hashtext(current_schema()))")


class Database:
    """An engine and its session factory; ``transaction()`` is the unit of work.

    Making one connects to nothing and changes nothing. ``Database.open`` (or
    ``check_schema``) is the start-up step: it migrates a new database and refuses an
    outdated one. Use it as a context manager, ``with Database.open(url) as database:``,
    or call ``close`` when done.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str) -> Database:
        """The database at ``url`` with its schema checked (``check_schema``), or ``StorageError``."""
        database = cls(url)
        try:
            database.check_schema()
        except BaseException:
            database.close()  # no pooled connection left behind by a refused start
            raise
        return database

    def check_schema(self) -> None:
        """Migrate a new database to the newest schema; accept a current one; refuse an outdated one.

        The refusal is a ``StorageError`` naming ``monitor db upgrade``, as is a database
        that cannot be reached.
        """
        from monitor.store.schema import check_schema  # Alembic is imported only when needed

        try:
            check_schema(self.engine, _safe_url(self.url))
        except OperationalError as exc:
            raise StorageError(f"cannot open database {_safe_url(self.url)}: {exc.orig}") from None

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()


def _make_engine(url: str) -> Engine:
    if is_sqlite(url):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(driver_url(url), pool_pre_ping=True)


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # unparsable: say nothing of its content
        return "<unparsable database URL>"


def known_urls(session: Session, canonical_urls: Iterable[str]) -> set[str]:
    """The subset of ``canonical_urls`` stored as an article's canonical URL or one it was fetched from.

    The spider asks with the canonical form of each feed or listing link; a link whose page
    declared another canonical URL is known through ``article_urls``.
    """
    wanted = list(set(canonical_urls))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        # A longer URL can be no article's canonical URL, and PostgreSQL may refuse to compare it.
        fitting = [url for url in chunk if len(url) <= MAX_URL_LENGTH]
        if fitting:
            found.update(
                session.scalars(select(ArticleRow.canonical_url).where(ArticleRow.canonical_url.in_(fitting)))
            )
        keys = {url_key(url): url for url in chunk if url not in found}
        if keys:
            rows = session.scalars(select(ArticleURL.url_key).where(ArticleURL.url_key.in_(list(keys))))
            found.update(keys[key] for key in rows)
    return found


def url_key(url: str) -> str:
    """The ``article_urls`` key of a URL already in canonical form: its SHA-256, in hex."""
    return sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def fetched_url_rows(article_id: int, canonical: str, urls: Iterable[str]) -> list[dict[str, object]]:
    """``article_urls`` rows for the addresses ``urls`` other than the article's canonical URL."""
    rows: dict[str, dict[str, object]] = {}
    for url in urls:
        if not url:
            continue
        try:
            key_url = _canonical(url)
        except ValueError:  # an address courlan and w3lib cannot read: no link will match it either
            continue
        if key_url != canonical:
            rows.setdefault(
                url_key(key_url), {"url_key": url_key(key_url), "url": key_url, "article_id": article_id}
            )
    return list(rows.values())


class UnstorableArticle(StorageError):
    """An article no database row can hold as it is; ``reason`` is the failure code recorded for its page."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def storable(article: Article) -> Article:
    """``article`` with URLs that fit their columns, or ``UnstorableArticle``.

    The canonical URL is the article's identity: cut, two articles would share one, so a
    canonical URL over ``MAX_URL_LENGTH`` is replaced by the page's own address when that
    fits (the page declared a canonical URL no row can hold) and refused otherwise. A
    fetched address over the limit is not needed to read the article: its canonical URL
    stands in for it in ``articles.url`` (``article_urls`` still remembers it, by hash).
    """
    canonical = article.canonical_url
    if len(canonical) > MAX_URL_LENGTH:
        own = ""
        if article.url and len(article.url) <= MAX_URL_LENGTH:
            try:
                own = _canonical(article.url)
            except ValueError:
                own = ""
        if not own or len(own) > MAX_URL_LENGTH:
            raise UnstorableArticle(
                "url-too-long",
                f"the article's canonical URL has {len(canonical):,} characters, more than the "
                f"{MAX_URL_LENGTH:,} a stored URL may have: {quoted(canonical)}",
            )
        article = article.replace(canonical_url=own, links=(*article.links, canonical))
        canonical = own
    if len(article.url) > MAX_URL_LENGTH:
        article = article.replace(url=canonical, links=(*article.links, article.url))
    return article


@dataclass(frozen=True, slots=True)
class SavedArticle:
    """What the match and alert rows of a newly stored article refer to.

    ``new_story``: ``save_article`` opened the story for this article, in this transaction,
    so no analyst can have muted it yet and ``save_matches`` need not ask the desk.
    """

    id: int
    story_id: int
    new_story: bool = False


class StoredArticle(Protocol):
    """A stored article as ``save_match`` needs it: a ``SavedArticle`` or an ``ArticleRow``."""

    @property
    def id(self) -> int: ...

    @property
    def story_id(self) -> int: ...


@dataclass(frozen=True, slots=True)
class NewMatch:
    """A rule that matched an article, and the channels its alerts go to."""

    rule: str
    terms: Sequence[str]
    snippet: str
    channels: Sequence[str]


@dataclass(frozen=True, slots=True)
class _Statements:
    """The pipeline's INSERTs for one dialect, built once: see ``_statements``."""

    story: Any
    bands: Any
    article: Any
    urls: Any
    matches: Any
    alerts: Any


_ARTICLES, _STORIES, _BANDS = ArticleRow.__table__, Story.__table__, StoryBand.__table__
_MATCHES, _ALERTS, _URLS = MatchRow.__table__, AlertRow.__table__, ArticleURL.__table__
_ARTICLE_EXISTS = select(_ARTICLES.c.id).where(_ARTICLES.c.canonical_url == bindparam("url"))
_STORY_CANDIDATES = (
    select(_STORIES.c.id, _STORIES.c.signature)
    .join(_BANDS, _BANDS.c.story_id == _STORIES.c.id)
    .where(_BANDS.c.band_key.in_(bindparam("keys", expanding=True)))
    .distinct()
)


@cache
def _statements(dialect: str) -> _Statements:
    """Core INSERTs on the tables, executed with parameter lists.

    Built once per dialect and run with bound parameters (``executemany`` with RETURNING,
    SQLAlchemy's "insertmanyvalues"), so SQLAlchemy compiles each once and the match and
    alert rows of an article take one statement each. Building an ORM statement with
    ``.values()`` per row cost about 1 ms of CPU apiece, most of the storing time.
    """
    return _Statements(
        story=conflict_insert(dialect, _STORIES).returning(_STORIES.c.id),
        bands=conflict_insert(dialect, _BANDS).on_conflict_do_nothing(),
        article=conflict_insert(dialect, _ARTICLES)
        .on_conflict_do_nothing(index_elements=["canonical_url"])
        .returning(_ARTICLES.c.id),
        urls=conflict_insert(dialect, _URLS).on_conflict_do_nothing(),
        matches=conflict_insert(dialect, _MATCHES)
        .on_conflict_do_nothing(index_elements=["rule", "article_id"])
        .returning(_MATCHES.c.id, _MATCHES.c.rule),
        alerts=conflict_insert(dialect, _ALERTS).on_conflict_do_nothing().returning(_ALERTS.c.id),
    )


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def save_article(session: Session, article: Article, now: datetime) -> SavedArticle | None:
    """Store ``article`` and place it in a story; ``None`` if its canonical URL is known.

    Either way the addresses it was fetched from are remembered for ``known_urls``.
    ``UnstorableArticle`` if it cannot be stored (``storable``), before anything is written.
    """
    article = storable(article)
    fetched = (article.url, *article.links)
    known = session.scalar(_ARTICLE_EXISTS, {"url": article.canonical_url})
    dialect = _dialect(session)
    statements = _statements(dialect)
    if known is not None:
        _remember_urls(session, statements, int(known), article.canonical_url, fetched)
        return None
    if dialect == "postgresql":
        _serialise_stories(session)
    story_id, new_story = _story_for(session, statements, article, now)
    values = {
        "canonical_url": article.canonical_url,
        "url": article.url,
        "source": article.source,
        "title": article.title,
        "body": article.body,
        "authors": list(article.authors),
        "published_at": article.published_at,
        "modified_at": article.modified_at,
        "language": article.language,
        "description": article.description,
        "section": article.section,
        "site_name": article.site_name,
        "fetched_at": now,
        "story_id": story_id,
    }
    article_id = session.scalar(statements.article, values)
    if article_id is None:  # another process stored it between our check and insert
        return None
    _remember_urls(session, statements, article_id, article.canonical_url, fetched)
    return SavedArticle(article_id, story_id, new_story)


def _remember_urls(
    session: Session, statements: _Statements, article_id: int, canonical: str, urls: Iterable[str]
) -> None:
    rows = fetched_url_rows(article_id, canonical, urls)
    if rows:
        session.execute(statements.urls, rows)


def _serialise_stories(session: Session) -> None:
    """Hold the story lock until this transaction ends (PostgreSQL).

    Two processes storing two copies of one wire story at the same time would otherwise
    each miss the other's uncommitted story, open two, and alert twice. SQLite needs no
    lock: ``BEGIN IMMEDIATE`` already lets one writer at a time in.
    """
    transaction = session.get_transaction()
    if session.info.get(_STORY_LOCK) is transaction:
        return  # taken already in this transaction
    session.execute(_TAKE_STORY_LOCK, {"cls": STORY_LOCK_CLASS})
    session.info[_STORY_LOCK] = transaction


def _story_for(
    session: Session, statements: _Statements, article: Article, now: datetime
) -> tuple[int, bool]:
    """The id of the story ``article`` belongs to, a similar stored one or a new one, and
    whether it is new."""
    signature = Signature.of_text(f"{article.title}\n{article.body}")
    keys = sorted(set(signature.band_keys()))
    clustered = _has_words(article.body, MIN_WORDS_FOR_CLUSTERING)
    if clustered:
        candidates = session.execute(_STORY_CANDIDATES, {"keys": keys}).all()
        scored: list[tuple[float, int]] = [
            (signature.similarity(Signature(values)), int(story_id)) for story_id, values in candidates
        ]
        scored = [item for item in scored if item[0] >= SIMILARITY_THRESHOLD]
        if scored:
            return max(scored, key=lambda item: (item[0], -item[1]))[1], False
    row = {"title": article.title, "signature": signature.values, "created_at": now}
    story_id: int = session.execute(statements.story, row).scalar_one()
    if clustered:
        session.execute(statements.bands, [{"band_key": key, "story_id": story_id} for key in keys])
    return story_id, True


def _has_words(text: str, count: int) -> bool:
    """Whether ``text`` has at least ``count`` whitespace-separated words.

    Splits off no more than ``count`` words (the rest stays one string) rather than
    cutting a whole article body into a list only to count it.
    """
    return len(text.split(None, count)) >= count


def save_matches(session: Session, article: StoredArticle, matches: Sequence[NewMatch], now: datetime) -> int:
    """Record the matches of ``article`` and, in the same transaction, one pending alert each per channel.

    Returns how many alerts were created: none for a channel that already has an alert
    for the rule and story (a syndicated copy), nor for a match already recorded, nor for
    a story muted on the desk (``monitor.store.desk``). A ``SavedArticle`` must come from
    ``save_article`` in this same transaction: a story it says is new is not looked up on
    the desk (nothing can have marked it yet).
    """
    if not matches:
        return 0
    statements = _statements(_dialect(session))
    recorded = session.execute(
        statements.matches,
        [
            {
                "rule": match.rule,
                "article_id": article.id,
                "terms": list(match.terms),
                "snippet": match.snippet,
                "created_at": now,
            }
            for match in matches
        ],
    ).all()
    if not _opened_here(article) and muted(session, article.story_id):
        # an analyst muted the story on the desk: matches only
        return 0
    channels = {match.rule: match.channels for match in matches}
    alerts = [
        {
            "rule": rule,
            "channel": channel,
            "article_id": article.id,
            "story_id": article.story_id,
            "match_id": match_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "delivered": [],
            "created_at": now,
        }
        for match_id, rule in recorded
        for channel in dict.fromkeys(channels[rule])
    ]
    if not alerts:
        return 0
    return len(session.execute(statements.alerts, alerts).all())


def _opened_here(article: StoredArticle) -> bool:
    """Whether ``article``'s story was opened by the ``save_article`` that stored it."""
    return isinstance(article, SavedArticle) and article.new_story


def save_match(
    session: Session,
    article: StoredArticle,
    rule: str,
    terms: Sequence[str],
    snippet: str,
    channels: Sequence[str],
    now: datetime,
) -> int:
    """``save_matches`` for one match: how many alerts it created."""
    return save_matches(session, article, [NewMatch(rule, terms, snippet, channels)], now)


def recent_alerts(session: Session, limit: int = 20, status: str | None = None) -> list[AlertRow]:
    """The newest alerts first, with their article and match loaded."""
    statement = select(AlertRow).options(joinedload(AlertRow.article), joinedload(AlertRow.match))
    if status is not None:
        statement = statement.where(AlertRow.status == status)
    return list(session.scalars(statement.order_by(AlertRow.id.desc()).limit(limit)).unique())


@dataclass(frozen=True, slots=True)
class Counts:
    """Row counts, for reports."""

    articles: int
    stories: int
    matches: int
    alerts: dict[str, int]


def counts(session: Session) -> Counts:
    """How many articles, stories, matches and alerts (by status) are stored."""
    rows = session.execute(select(AlertRow.status, func.count()).group_by(AlertRow.status))
    by_status: dict[str, int] = {status: int(number) for status, number in rows.all()}
    return Counts(
        articles=session.scalar(select(func.count()).select_from(ArticleRow)) or 0,
        stories=session.scalar(select(func.count()).select_from(Story)) or 0,
        matches=session.scalar(select(func.count()).select_from(MatchRow)) or 0,
        alerts={status: by_status.get(status, 0) for status in ALERT_STATUSES},
    )
