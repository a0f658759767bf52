"""Storage on SQLite and on the real PostgreSQL: uniqueness, stories, the outbox."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from monitor.article import Article
from monitor.config.model import load_config
from monitor.crawl.ingest import Ingester
from monitor.store.database import (
    MIN_WORDS_FOR_CLUSTERING,
    Database,
    SavedArticle,
    UnstorableArticle,
    _has_words,
    counts,
    known_urls,
    recent_alerts,
    save_article,
    save_match,
)
from monitor.store.models import AlertRow, ArticleRow, CrawlFailure, MatchRow
from monitor.store.outbox import claim_alerts, finish_alert, retry_failed_alerts
from monitor.store.runs import start_run
from monitor.watch.rules import RuleSet

NOW = datetime(2010, 4, 6, 18, 0, tzinfo=UTC)
WIRE = (
    "German automaker Daimler AG and French car manufacturer Renault have reportedly agreed on a new "
    "business strategy that will see both parties create a global small-car alliance, sharing "
    "development costs and technology. Details of the deal are set to be announced tomorrow in "
    "Brussels with Daimler CEO Dieter Zetsche and Renault-Nissan Boss Carlos Ghosn taking part. "
    "According to a report by Automotive News Europe, the management boards for each automaker have "
    "agreed to the partnership."
)
OTHER = (
    "Volkswagen has completed the purchase of a 19.9 percent stake in Suzuki Motor, sealing a "
    "partnership the two companies announced in December. Suzuki will in turn use part of the money "
    "to buy Volkswagen shares, and the companies will work together on small cars and hybrids for "
    "emerging markets such as India, where Suzuki's Maruti subsidiary leads the market."
)


def article(url: str, body: str = WIRE, title: str = "Daimler, Renault team up", **extra: object) -> Article:
    return Article(url=url, canonical_url=url, title=title, body=body, **extra)  # type: ignore[arg-type]


def test_one_article_per_canonical_url(database: Database) -> None:
    with database.transaction() as session:
        first = save_article(session, article("https://a.example/1"), NOW)
        again = save_article(session, article("https://a.example/1", body=OTHER), NOW)
    assert first is not None
    assert again is None
    with database.transaction() as session:
        assert counts(session).articles == 1
        assert known_urls(session, ["https://a.example/1", "https://a.example/2"]) == {"https://a.example/1"}


def test_database_enforces_article_uniqueness(database: Database) -> None:
    with database.transaction() as session:
        save_article(session, article("https://a.example/1"), NOW)
    with database.sessions() as session:
        session.begin()
        story_id = session.scalar(select(ArticleRow.story_id))
        session.add(
            ArticleRow(
                canonical_url="https://a.example/1",
                url="x",
                title="t",
                body="b",
                authors=[],
                fetched_at=NOW,
                story_id=story_id,
            )
        )
        with pytest.raises(IntegrityError):
            session.flush()


def test_syndicated_copy_joins_the_story_and_other_news_does_not(database: Database) -> None:
    with database.transaction() as session:
        original = save_article(session, article("https://autoguide.example/a"), NOW)
        copy = save_article(
            session,
            article(
                "https://wire.example/b",
                body=WIRE + " This story originally appeared on AutoGuide.",
                title="Daimler and Renault to form small-car alliance: report",
            ),
            NOW,
        )
        other = save_article(session, article("https://a.example/vw", body=OTHER, title="VW buys stake"), NOW)
    assert original is not None
    assert copy is not None
    assert other is not None
    assert copy.story_id == original.story_id
    assert other.story_id != original.story_id
    # save_matches asks the desk whether a story is muted only for a story opened before
    assert (original.new_story, copy.new_story, other.new_story) == (True, False, True)


def test_a_copy_stored_at_the_same_time_waits_and_joins_the_story(database: Database) -> None:
    """Two writers storing two copies of one wire story at once agree on one story.

    On PostgreSQL the copy's transaction waits for the story lock, on SQLite for
    ``BEGIN IMMEDIATE``; without either it would open a second story (and alert twice).
    """
    stored: dict[str, SavedArticle | None] = {}
    finished = threading.Event()

    def store_copy() -> None:
        with database.transaction() as other:
            copy = article("https://wire.example/b", body=WIRE + " Reporting by the wire.", title="Copy")
            stored["copy"] = save_article(other, copy, NOW)
        finished.set()

    with database.transaction() as session:
        original = save_article(session, article("https://autoguide.example/a"), NOW)
        writer = threading.Thread(target=store_copy)
        writer.start()
        assert not finished.wait(1.0), "the copy did not wait for the original's transaction"
    writer.join(30)
    assert original is not None
    assert stored["copy"] is not None
    assert stored["copy"].story_id == original.story_id


def test_short_articles_are_never_merged(database: Database) -> None:
    with database.transaction() as session:
        one = save_article(session, article("https://a.example/1", body="Daily briefing"), NOW)
        two = save_article(session, article("https://a.example/2", body="Daily briefing"), NOW)
    assert one is not None
    assert two is not None
    assert one.story_id != two.story_id


@pytest.mark.parametrize(
    "body", ["", "   ", "one", " a  b\tc\n", "w " * 24, "w " * 25, " w" * 25 + "  ", "w\n" * 26, "x" * 300]
)
def test_the_clustering_word_count_agrees_with_splitting_the_whole_body(body: str) -> None:
    for count in (1, 3, MIN_WORDS_FOR_CLUSTERING):
        assert _has_words(body, count) == (len(body.split()) >= count)


def test_match_writes_one_alert_per_channel_and_one_per_story(database: Database) -> None:
    with database.transaction() as session:
        original = save_article(session, article("https://autoguide.example/a"), NOW)
        assert original is not None
        created = save_match(
            session, original, "daimler-renault", ["daimler"], "**Daimler**", ["mail", "chat"], NOW
        )
        repeated = save_match(session, original, "daimler-renault", ["daimler"], "**Daimler**", ["mail"], NOW)
        copy = save_article(session, article("https://wire.example/b", title="Copy"), NOW)
        assert copy is not None
        from_copy = save_match(
            session, copy, "daimler-renault", ["daimler"], "**Daimler**", ["mail", "chat"], NOW
        )
        other_rule = save_match(session, copy, "renault-watch", ["renault"], "**Renault**", ["mail"], NOW)
    assert (created, repeated, from_copy, other_rule) == (2, 0, 0, 1)
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(MatchRow)) == 3
        assert session.scalar(select(func.count()).select_from(AlertRow)) == 3


def test_database_enforces_one_alert_per_rule_story_channel(database: Database) -> None:
    with database.transaction() as session:
        row = save_article(session, article("https://a.example/1"), NOW)
        assert row is not None
        save_match(session, row, "r", [], "", ["mail"], NOW)
    with database.sessions() as session:
        session.begin()
        alert = session.scalars(select(AlertRow)).one()
        session.add(
            AlertRow(
                rule="r",
                channel="mail",
                article_id=alert.article_id,
                story_id=alert.story_id,
                match_id=alert.match_id,
                next_attempt_at=NOW,
                created_at=NOW,
                delivered=[],
            )
        )
        with pytest.raises(IntegrityError):
            session.flush()


def test_outbox_lease_retry_and_failure(database: Database) -> None:
    with database.transaction() as session:
        row = save_article(session, article("https://a.example/1"), NOW)
        assert row is not None
        save_match(session, row, "r", ["daimler"], "**Daimler**", ["mail"], NOW)
    lease = timedelta(minutes=5)
    with database.transaction() as session:
        claimed = claim_alerts(session, NOW, lease)
        assert [alert.status for alert in claimed] == ["sending"]
        assert claimed[0].article.title == "Daimler, Renault team up"
        alert_id = claimed[0].id
    with database.transaction() as session:
        assert claim_alerts(session, NOW + timedelta(minutes=1), lease) == []  # leased elsewhere
    with database.transaction() as session:  # the worker died: the lease expires, another takes it
        assert [alert.id for alert in claim_alerts(session, NOW + timedelta(minutes=6), lease)] == [alert_id]
    with database.transaction() as session:
        status = finish_alert(session, alert_id, ["t1"], "t2 refused", NOW, NOW + timedelta(minutes=1))
    assert status == "pending"
    with database.transaction() as session:
        assert claim_alerts(session, NOW + timedelta(seconds=30), lease) == []  # not due yet
        assert len(claim_alerts(session, NOW + timedelta(minutes=2), lease)) == 1
        assert finish_alert(session, alert_id, [], "t2 refused", NOW, None) == "failed"
    with database.transaction() as session:
        failed = recent_alerts(session, status="failed")
        assert [(a.attempts, a.delivered, a.last_error) for a in failed] == [(2, ["t1"], "t2 refused")]
        assert retry_failed_alerts(session, NOW) == 1
    with database.transaction() as session:
        again = claim_alerts(session, NOW, lease)
        assert finish_alert(session, again[0].id, ["t2"], None, NOW, None) == "sent"
    with database.transaction() as session:
        sent = recent_alerts(session, status="sent")[0]
        assert sent.delivered == ["t1", "t2"]
        assert sent.sent_at == NOW


def test_datetimes_come_back_as_utc(database: Database) -> None:
    from zoneinfo import ZoneInfo

    published = datetime(2010, 4, 6, 13, 30, tzinfo=ZoneInfo("America/Toronto"))
    with database.transaction() as session:
        save_article(session, article("https://a.example/1", published_at=published), NOW)
    with database.transaction() as session:
        row = session.scalars(select(ArticleRow)).one()
    assert row.published_at == published
    assert row.published_at is not None
    assert row.published_at.utcoffset() == timedelta(0)


def test_hostile_text_is_cleaned_before_storage(database: Database) -> None:
    hostile = Article(
        url="https://a.example/x\x00",
        canonical_url="https://a.example/x",
        title="\ud800 Renault\x00 and Daimler",
        body=WIRE + "\x00\x1b \udfff",
        authors=("Ann\x00 Example",),
        description="\x07desc",
        section="Cars\x00",
        site_name="\ud83dSite",
    )
    with database.transaction() as session:
        assert save_article(session, hostile, NOW) is not None
    with database.transaction() as session:
        row = session.scalars(select(ArticleRow)).one()
        assert row.title == "\ufffd Renault and Daimler"
        assert row.body == WIRE + " \ufffd"
        assert row.authors == ["Ann Example"]
        assert (row.description, row.section, row.site_name) == ("desc", "Cars", "\ufffdSite")
        assert row.url == "https://a.example/x"


def test_a_canonical_url_too_long_to_store_is_refused_or_replaced_by_the_page_address(
    database: Database,
) -> None:
    long = "https://a.example/" + "x" * 3_000
    with database.transaction() as session, pytest.raises(UnstorableArticle) as refused:
        save_article(session, article(long), NOW)
    assert refused.value.reason == "url-too-long"
    declared = Article(url="https://a.example/short", canonical_url=long, title="T", body=WIRE)
    with database.transaction() as session:
        assert save_article(session, declared, NOW) is not None
        # The long declared canonical is remembered as one of its addresses (by hash).
        assert known_urls(session, [long, "https://a.example/short"]) == {long, "https://a.example/short"}
    with database.transaction() as session:
        row = session.scalars(select(ArticleRow)).one()
        assert row.canonical_url == "https://a.example/short"


def test_known_urls_answers_for_the_addresses_an_article_was_fetched_from(database: Database) -> None:
    page = Article(
        url="https://a.example/story?cmp=rss",
        canonical_url="https://a.example/story",
        title="T",
        body=WIRE,
        links=("https://feeds.example/r/123",),
    )
    asked = [
        "https://a.example/story?cmp=rss",
        "https://feeds.example/r/123",
        "https://a.example/other?cmp=rss",
    ]
    with database.transaction() as session:
        assert known_urls(session, asked) == set()
        assert save_article(session, page, NOW) is not None
    with database.transaction() as session:
        assert known_urls(session, asked) == set(asked[:2])
        # Met again through another link: not stored twice, but the new link is remembered.
        again = page.replace(url="https://a.example/story?r=rss", links=())
        assert save_article(session, again, NOW) is None
        assert known_urls(session, ["https://a.example/story?r=rss"]) == {"https://a.example/story?r=rss"}
        assert session.scalar(select(func.count()).select_from(ArticleRow)) == 1


def test_the_upgrade_remembers_stored_articles_fetched_urls(database: Database) -> None:
    from alembic import command
    from sqlalchemy import text

    from monitor.store.schema import alembic_config, upgrade

    url = database.url
    database.close()
    with database.engine.begin() as connection:  # back to the revision before article_urls
        command.downgrade(alembic_config(connection), "0002")
    with database.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO stories (id, title, signature, created_at) VALUES (1, 't', :sig, :now)"),
            {"sig": b"", "now": NOW.replace(tzinfo=None)},
        )
        connection.execute(
            text(
                "INSERT INTO articles (id, canonical_url, url, title, body, authors, fetched_at, story_id) "
                "VALUES (1, 'https://a.example/a', 'https://a.example/a?cmp=rss', 't', 'b', '[]', :now, 1)"
            ),
            {"now": NOW.replace(tzinfo=None)},
        )
    upgrade(database.engine)
    with Database.open(url) as upgraded, upgraded.transaction() as session:
        assert known_urls(session, ["https://a.example/a?cmp=rss"]) == {"https://a.example/a?cmp=rss"}


def test_source_health_alert_since_is_dropped_and_comes_back_on_downgrade(database: Database) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from monitor.store.schema import alembic_config, head, upgrade

    def columns() -> set[str]:
        return {column["name"] for column in inspect(database.engine).get_columns("source_health")}

    database.close()
    assert "alert_since" not in columns()
    with database.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0004")
    assert "alert_since" in columns()
    assert upgrade(database.engine) == ("0004", head())
    assert "alert_since" not in columns()


@pytest.mark.postgres
def test_an_article_the_database_refuses_is_a_recorded_failure_and_the_rest_are_stored(
    postgres_url: str, tmp_path: Path
) -> None:
    config_path = tmp_path / "monitor.yaml"
    config_path.write_text(
        f"database: '{postgres_url}'\nrules: []\nsources:\n  - {{name: s, kind: feed, url: 'https://s.example/f'}}\n",
        encoding="utf-8",
    )
    config = load_config(config_path, environ={})
    with Database.open(postgres_url) as database:
        with database.transaction() as session:
            run_id = start_run(session, "s", NOW)
        ingester = Ingester(config, config.source("s"), RuleSet([]), database, run_id)
        good = [article(f"https://s.example/{n}", body=f"{n} {WIRE}", source="s") for n in range(3)]
        refused = article("https://s.example/bad", source="s" * 300)  # over the 200 of articles.source
        counts = ingester.store([good[0], refused, *good[1:]])
        assert counts.stored == 3
        assert counts.failed == {"unstorable": 1}
        with database.transaction() as session:
            assert session.scalar(select(func.count()).select_from(ArticleRow)) == 3
            (failure,) = session.scalars(select(CrawlFailure).where(CrawlFailure.run_id == run_id))
            assert (failure.url, failure.reason) == ("https://s.example/bad", "unstorable")
            assert "DataError" in failure.detail or "StringDataRightTruncation" in failure.detail
