"""The desk's storage: stories in the inbox, marks, feedback, muting stops alerts, retry; both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from webdesk import BATTERY, WIRE, add_copy, ingest, make_article, ruleset, seed_desk, write_config

from monitor.store import desk
from monitor.store.database import Database
from monitor.store.models import AlertRow, ArticleRow, MatchRow


def test_the_inbox_groups_a_story_original_first_with_its_copies(database: Database, tmp_path: Path) -> None:
    config = write_config(tmp_path, database.url)
    ids = seed_desk(database, config)
    copy = add_copy(database, config)
    with database.transaction() as session:
        stories = desk.inbox(session, desk.InboxFilter())
    assert (
        len(stories) == 2
    )  # the alliance story (two articles) and the battery story; "other" matched nothing
    alliance = next(s for s in stories if s.original.id == ids["original"])
    assert [a.id for a in alliance.copies] == [copy]
    assert alliance.rules == ["alliance", "electric"]
    assert stories[0].story_id == alliance.story_id  # the copy's match is the newest


def test_filters_and_read_state(database: Database, tmp_path: Path) -> None:
    config = write_config(tmp_path, database.url)
    ids = seed_desk(database, config)
    now = datetime.now(UTC)
    with database.transaction() as session:
        battery = session.get_one(ArticleRow, ids["battery"]).story_id
        assert battery in [s.story_id for s in desk.inbox(session, desk.InboxFilter(rule="electric"))]
        assert [s.story_id for s in desk.inbox(session, desk.InboxFilter(rule="alliance"))] != [battery]
        assert desk.inbox(session, desk.InboxFilter(source="nowhere")) == []
        assert desk.inbox(session, desk.InboxFilter(since=now + timedelta(days=1))) == []
        desk.mark_story(session, battery, now + timedelta(seconds=1), read=True)
    with database.transaction() as session:
        assert battery not in [s.story_id for s in desk.inbox(session, desk.InboxFilter())]
        assert battery in [s.story_id for s in desk.inbox(session, desk.InboxFilter(state="all"))]
        # a new match after the story was read brings it back
        session.execute(update(MatchRow).values(created_at=now + timedelta(minutes=5)))
    with database.transaction() as session:
        assert battery in [s.story_id for s in desk.inbox(session, desk.InboxFilter())]


def test_a_muted_story_gets_no_more_alerts(database: Database, tmp_path: Path) -> None:
    config = write_config(tmp_path, database.url)
    rules = ruleset(config)
    first, alerts = ingest(database, config, rules, make_article("a", "Daimler and Renault alliance", WIRE))
    assert first is not None
    assert alerts == 2  # alliance and electric, one channel each
    with database.transaction() as session:
        story = session.get_one(ArticleRow, first).story_id
        desk.mark_story(session, story, datetime.now(UTC), muted=True)
        session.execute(update(AlertRow).values(status="sent"))
    # the copy would alert for a rule that has no alert on this story yet
    copy_rules = ruleset(config)
    copy = make_article("b", "Copy", WIRE + " Battery makers cheered.", site="Other")
    copy_id, copy_alerts = ingest(database, config, copy_rules, copy)
    assert copy_id is not None
    assert copy_alerts == 0
    with database.transaction() as session:
        assert session.get_one(ArticleRow, copy_id).story_id == story
        assert (
            session.scalar(select(MatchRow.id).where(MatchRow.article_id == copy_id)) is not None
        )  # still recorded
        desk.mark_story(session, story, datetime.now(UTC), muted=False)
        assert desk.inbox(session, desk.InboxFilter(state="muted")) == []
    # unmuted, a story alerts again (another story for contrast alerts as usual)
    other, other_alerts = ingest(database, config, rules, make_article("c", "Fluence", BATTERY))
    assert other is not None
    assert other_alerts == 1


def test_irrelevant_feedback_counts_on_the_rule(database: Database, tmp_path: Path) -> None:
    config = write_config(tmp_path, database.url)
    seed_desk(database, config)
    add_copy(database, config)
    now = datetime.now(UTC)
    with database.transaction() as session:
        ids = list(
            session.scalars(select(MatchRow.id).where(MatchRow.rule == "electric").order_by(MatchRow.id))
        )
        assert len(ids) == 3
        assert desk.mark_irrelevant(session, ids[0], now)
        assert desk.mark_irrelevant(session, ids[0], now)  # twice is once
        assert not desk.mark_irrelevant(session, 10_000, now)
    with database.transaction() as session:
        figures = desk.rule_figures(session, "electric", now)
        assert (figures.matches, figures.irrelevant) == (3, 1)
        assert round(figures.irrelevant_share, 2) == 0.33
        assert figures.per_day[-1] == (now.strftime("%Y-%m-%d"), 3)
        assert len(figures.per_day) == 30
        desk.mark_irrelevant(session, ids[0], now, irrelevant=False)
    with database.transaction() as session:
        assert desk.rule_figures(session, "electric", now).irrelevant == 0


def test_retry_one_failed_alert(database: Database, tmp_path: Path) -> None:
    config = write_config(tmp_path, database.url)
    seed_desk(database, config)
    now = datetime.now(UTC)
    with database.transaction() as session:
        first, second = session.scalars(select(AlertRow.id).order_by(AlertRow.id).limit(2))
        session.execute(update(AlertRow).where(AlertRow.id == first).values(status="failed", attempts=5))
    with database.transaction() as session:
        assert not desk.retry_alert(session, second, now)  # pending: nothing to retry
        assert desk.retry_alert(session, first, now)
    with database.transaction() as session:
        alert = session.get_one(AlertRow, first)
        assert (alert.status, alert.retried_after) == ("pending", 5)
        assert desk.counts_by_status(session) == {"pending": 3}
