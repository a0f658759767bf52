"""SQLAlchemy 2 models: one database holds articles, stories, matches and the alert outbox.

Uniqueness is enforced by the database, not by Python checks: one article per canonical
URL (the other URLs it was fetched from point to it), one match per (rule, article), one
alert per (rule, article, channel) and per (rule, story, channel), so that syndicated
copies of a story alert once, and one digest per (channel, schedule, window).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from monitor.article import Article


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out, also on SQLite (which stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every monitor table."""


class Story(Base):
    """A cluster of near-duplicate articles: one wire story and its syndicated copies."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    articles: Mapped[list[ArticleRow]] = relationship(back_populates="story")


class StoryBand(Base):
    """One LSH band key of a story's signature; candidates share a key."""

    __tablename__ = "story_bands"

    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)


class ArticleRow(Base):
    """A stored ``Article``; the canonical URL is its identity."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    canonical_url: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str] = mapped_column(String(2048))
    source: Mapped[str | None] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    language: Mapped[str | None] = mapped_column(String(8))
    description: Mapped[str | None] = mapped_column(Text)
    section: Mapped[str | None] = mapped_column(Text)
    site_name: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    story: Mapped[Story] = relationship(back_populates="articles")

    def article(self) -> Article:
        """The ``Article`` this row stores, as the matcher and the backfill read it."""
        return Article(
            url=self.url,
            canonical_url=self.canonical_url,
            title=self.title,
            body=self.body,
            authors=tuple(self.authors or ()),
            published_at=self.published_at,
            modified_at=self.modified_at,
            language=self.language,
            description=self.description,
            section=self.section,
            site_name=self.site_name,
            source=self.source,
        )


class ArticleURL(Base):
    """An address an article was fetched from or linked as, other than its canonical URL.

    Feeds and listings often link ``/a?cmp=rss`` to a page whose ``<link rel=canonical>``
    is ``/a``; without this row the next crawl would ask for ``/a?cmp=rss``, find no article
    with that canonical URL, and download the page again. ``url_key`` is the SHA-256 of the
    URL's canonical form (``monitor.urls.canonical_url``), so a link of any length has a
    short unique key; ``url`` keeps it readable.
    """

    __tablename__ = "article_urls"

    url_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)


class MatchRow(Base):
    """A rule matched an article: what hit and the passage, for the alert and for audits."""

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("rule", "article_id", name="uq_match_rule_article"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(200))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    snippet: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    article: Mapped[ArticleRow] = relationship()


class OutboxColumns:
    """The delivery state shared by every outbox table (alerts and digests).

    ``pending`` -> ``sending`` (leased to one worker until ``lease_until``; ``lease_token``
    says which claim owns it) -> ``sent`` | ``failed``. ``delivered`` holds the keys of the
    channel's targets that already accepted the message, so a retry after a partial failure
    never resends to a target that succeeded.
    """

    channel: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # every attempt, retries included
    # ``attempts`` when ``alerts retry`` last queued it again: its new tries count from here
    retried_after: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    lease_token: Mapped[str | None] = mapped_column(String(32), default=None)
    delivered: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class DigestRow(OutboxColumns, Base):
    """One digest message: a channel's held alerts of one schedule window, sent together.

    Unique per (channel, schedule, window end), so two workers closing the same window
    build one digest.
    """

    __tablename__ = "digests"
    __table_args__ = (
        UniqueConstraint("channel", "schedule", "window_end", name="uq_digest_window"),
        Index("ix_digests_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule: Mapped[str] = mapped_column(String(200))
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    alerts: Mapped[list[AlertRow]] = relationship(back_populates="digest", order_by="AlertRow.id")


class AlertRow(OutboxColumns, Base):
    """The outbox: one message due to one channel tag, written with its match.

    An instant alert is sent on its own. An alert of a digest rule, or one over its rule's
    ``max_per_hour``, is ``held`` with the cron ``digest_key`` of the digest it waits for;
    when that window closes it joins a ``DigestRow`` and is sent with it.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("rule", "article_id", "channel", name="uq_alert_rule_article_channel"),
        UniqueConstraint("rule", "story_id", "channel", name="uq_alert_rule_story_channel"),
        Index("ix_alerts_due", "status", "next_attempt_at"),
        Index("ix_alerts_held", "status", "channel", "digest_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(200))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"))
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"))
    digest_key: Mapped[str | None] = mapped_column(String(200), default=None)
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digests.id"), default=None, index=True)
    article: Mapped[ArticleRow] = relationship()
    match: Mapped[MatchRow] = relationship()
    digest: Mapped[DigestRow | None] = relationship(back_populates="alerts")


class CrawlRun(Base):
    """One crawl of one source: when, how much, and how it ended."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(200), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    articles_stored: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    pages_failed: Mapped[int] = mapped_column(Integer, default=0)
    retry_after: Mapped[int | None] = mapped_column(Integer)  # seconds a site asked us to stay away


class CrawlFailure(Base):
    """One request of a crawl that failed for good (after retries), and why.

    ``reason`` is a short code (``timeout``, ``http-503``, ``robots``, ``too-large``...) for
    counting; ``detail`` is the sentence an operator reads.
    """

    __tablename__ = "crawl_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(200), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    entry: Mapped[bool] = mapped_column(default=False)  # the source's own URL (feed, sitemap, listing)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FetchValidator(Base):
    """The ETag and Last-Modified a feed or sitemap last came with, for conditional GETs."""

    __tablename__ = "fetch_validators"

    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    source: Mapped[str] = mapped_column(String(200), index=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SourceHealth(Base):
    """How a source is doing across crawls: what ``monitor status`` shows and operators are told."""

    __tablename__ = "source_health"

    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_complete_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a run without any failure
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    interval: Mapped[int | None] = mapped_column(Integer)  # adaptive polling: seconds until the next crawl
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # adaptive or Retry-After
    alert_state: Mapped[str] = mapped_column(String(16), default="ok")  # ok, failing, silent
    # ok or degraded: what the operator was last told of its extraction (monitor.crawl.quality)
    quality_state: Mapped[str] = mapped_column(String(16), default="ok", server_default="ok")


class RuleSnapshot(Base):
    """The last rule set loaded without errors, so a rule file that breaks keeps running.

    One row. Every crawl process reads the rule files itself; when one of them is broken,
    the rules it had in this snapshot stand in for it (``monitor.watch.state``).
    """

    __tablename__ = "rule_snapshot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    entities: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoryMark(Base):
    """What the analysts' desk (``monitor web``) marked on a story: read, muted.

    A muted story gets no more alerts (``save_matches`` skips it); its matches are still
    recorded, so the desk and the backtest keep showing them.
    """

    __tablename__ = "story_marks"

    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    muted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class MatchFeedback(Base):
    """An analyst marked a match irrelevant: feedback for tuning its rule, shown on the rule page."""

    __tablename__ = "match_feedback"

    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"), primary_key=True)
    rule: Mapped[str] = mapped_column(String(200), index=True)
    verdict: Mapped[str] = mapped_column(String(16), default="irrelevant")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebToken(Base):
    """A per-user token for the desk's API and feeds; only its SHA-256 is stored."""

    __tablename__ = "web_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The desk lists a rule's matches and the newest matches first.
Index("ix_matches_rule_created", MatchRow.rule, MatchRow.created_at)
Index("ix_matches_created", MatchRow.created_at)
