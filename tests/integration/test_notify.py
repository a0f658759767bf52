"""The dispatcher on SQLite and the real PostgreSQL, with real receivers on 127.0.0.1.

Per-target delivery, retries with backoff up to attempts and age, leases, digests on cron
windows, max_per_hour overflow, quiet hours, rendering and user templates. Time is an
injected clock, so hours of schedule pass in milliseconds.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from webhooksink import WebhookSink

from monitor.article import Article
from monitor.config.channels import Channel, parse_quiet_hours
from monitor.demo.smtpsink import SmtpSink
from monitor.errors import NotifyError, StorageError
from monitor.notify import Dispatcher, Templates, backoff
from monitor.notify.policy import RulePolicy, digest_key, quiet_until, window_end
from monitor.store.database import Database, save_article, save_match
from monitor.store.models import AlertRow, DigestRow
from monitor.store.outbox import claim_alerts, finish_alert, retry_failed_alerts
from monitor.store.schema import upgrade

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 11, 26, 8, 10, tzinfo=BERLIN).astimezone(UTC)  # a Thursday, 08:10 in Berlin
STORY = (
    "Daimler AG and the Renault-Nissan alliance on Wednesday sealed a broad cooperation that ties the "
    "German luxury carmaker to its French and Japanese partners through a small exchange of shares, the "
    "companies said at a joint news conference in Brussels on the small-car projects."
)


class Clock:
    """A settable clock for the dispatcher."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, hour: int, minute: int = 0, day: int = 26) -> Clock:
        self.now = datetime(2026, 11, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)
        return self

    def advance(self, **delta: float) -> Clock:
        self.now += timedelta(**delta)
        return self


def seed(
    database: Database,
    count: int,
    *,
    rule: str = "alliance",
    channels: Sequence[str] = ("team",),
    now: datetime = T0,
    prefix: str = "Story",
    body: str | None = None,
    outlet: str = "Example News",
) -> None:
    """``count`` articles that each match ``rule``; short bodies are separate stories."""
    with database.transaction() as session:
        for index in range(count):
            url = f"https://{outlet.lower().replace(' ', '')}.example/{prefix.lower()}-{index}"
            article = Article(
                url=url,
                canonical_url=url,
                title=f"{prefix} {index}",
                body=body or f"{prefix} {index}: Daimler and Renault news in brief.",
                authors=("Colum Wood",),
                published_at=datetime(2010, 4, 6, 17, 30, tzinfo=UTC),
                site_name=outlet,
            )
            row = save_article(session, article, now)
            assert row is not None
            save_match(session, row, rule, ["Daimler"], "… **Daimler** and Renault …", channels, now)


def statuses(database: Database) -> list[str]:
    with database.transaction() as session:
        return list(session.scalars(select(AlertRow.status).order_by(AlertRow.id)))


# -- delivery: per target, retries, leases ------------------------------------------------


def test_each_target_is_recorded_alone_and_never_resent(database: Database, smtp_sink: SmtpSink) -> None:
    seed(database, 1)
    clock = Clock(T0)
    with WebhookSink(script=["500"]) as hook:
        dispatcher = Dispatcher(database, {"team": (smtp_sink.mailto(), hook.url())}, clock=clock)
        first = dispatcher.dispatch_due()
        assert (first.sent, first.retrying) == (0, 1)
        assert len(smtp_sink.messages) == 1
        assert [request.outcome for request in hook.requests] == ["500"]
        with database.transaction() as session:
            alert = session.scalars(select(AlertRow)).one()
            assert len(alert.delivered) == 1
            assert alert.last_error == (  # the server's own answer, not a generic sentence
                "channel 'team' #2 (json): Failed to send JSON POST notification: Internal server error., "
                "error=500.; Response Details: b'{}'"
            )
        assert dispatcher.dispatch_due().sent == 0  # not due yet: backoff
        clock.advance(minutes=2)
        second = dispatcher.dispatch_due()
        assert second.sent == 1
        assert len(smtp_sink.messages) == 1  # the mail target is not sent again
        assert len(hook.accepted) == 1
        assert hook.accepted[0]["title"] == "[alliance] Story 0"
    assert statuses(database) == ["sent"]


def test_out_of_attempts_is_failed_until_retried(database: Database) -> None:
    seed(database, 1)
    clock = Clock(T0)
    with WebhookSink(script=["500", "500", "500"]) as hook:
        dispatcher = Dispatcher(database, {"team": (hook.url(),)}, clock=clock, max_attempts=3)
        outcomes = [dispatcher.dispatch_due() for _ in range(3) if clock.advance(hours=1)]
        assert [(report.retrying, report.failed) for report in outcomes] == [(1, 0), (1, 0), (0, 1)]
        assert statuses(database) == ["failed"]
        assert dispatcher.dispatch_due().sent == 0  # failed stays failed
        with database.transaction() as session:
            assert retry_failed_alerts(session, clock.now) == 1
        assert dispatcher.dispatch_due().sent == 1
        assert len(hook.accepted) == 1
    assert statuses(database) == ["sent"]


def test_too_old_is_failed_before_its_attempts_run_out(database: Database) -> None:
    seed(database, 1)
    clock = Clock(T0)
    with WebhookSink(script=["500"] * 5) as hook:
        dispatcher = Dispatcher(
            database, {"team": (hook.url(),)}, clock=clock, max_attempts=50, max_age=timedelta(minutes=10)
        )
        assert dispatcher.dispatch_due().retrying == 1
        clock.advance(minutes=11)
        assert dispatcher.dispatch_due().failed == 1
    assert statuses(database) == ["failed"]


def test_an_expired_lease_is_taken_over_and_the_late_worker_changes_nothing(
    database: Database, smtp_sink: SmtpSink
) -> None:
    seed(database, 1)
    lease = timedelta(seconds=30)
    with database.transaction() as session:  # a worker claims, then dies without a word
        [claimed] = claim_alerts(session, T0, lease, token="dead-worker")
    dispatcher = Dispatcher(
        database, {"team": (smtp_sink.mailto(),)}, clock=Clock(T0 + lease / 2), lease=lease
    )
    assert dispatcher.dispatch_due().sent == 0  # still leased
    dispatcher.clock = Clock(T0 + lease + timedelta(seconds=1))
    assert dispatcher.dispatch_due().sent == 1
    with database.transaction() as session:  # the first worker wakes up and reports a failure
        assert finish_alert(session, claimed.id, [], "late error", T0, T0, token="dead-worker") == "sent"
    with database.transaction() as session:
        alert = session.get_one(AlertRow, claimed.id)
        assert (alert.status, alert.attempts, alert.last_error) == ("sent", 1, None)
    assert len(smtp_sink.messages) == 1


def test_three_dispatchers_at_once_send_each_alert_once(database: Database) -> None:
    seed(database, 60)
    with WebhookSink() as hook:
        dispatchers = [Dispatcher(database, {"team": (hook.url(),)}, batch=5) for _ in range(3)]
        with ThreadPoolExecutor(3) as pool:
            reports = list(pool.map(lambda dispatcher: dispatcher.dispatch_due(), dispatchers))
        titles = Counter(body["title"] for body in hook.accepted)
    assert sum(report.sent for report in reports) == 60
    assert len(titles) == 60
    assert set(titles.values()) == {1}


def test_an_unconfigured_channel_fails_with_a_plain_reason(database: Database) -> None:
    seed(database, 1, channels=("nowhere",))
    report = Dispatcher(database, {}, clock=Clock(T0), max_attempts=1).dispatch_due()
    assert report.failed == 1
    with database.transaction() as session:
        assert session.scalars(select(AlertRow.last_error)).one() == "channel 'nowhere' is not configured"


class _RejectingSink(SmtpSink):
    """An SMTP server (aiosmtpd) that answers every recipient with a permanent 550."""

    async def handle_RCPT(
        self, server: object, session: object, envelope: object, address: str, options: object
    ) -> str:
        return "550 5.1.1 <desk@news.example>: mailbox unavailable"


def test_each_failure_keeps_the_servers_own_reason(database: Database) -> None:
    rejecting = _RejectingSink().start()
    try:
        seed(database, 1, channels=("rejects", "refuses"))
        mail = "?from=monitor@news.example&to=desk@news.example&secure=no"
        channels = {
            "rejects": (f"mailto://127.0.0.1:{rejecting.port}{mail}",),
            "refuses": (f"mailto://127.0.0.1:9{mail}",),  # nothing listens there
        }
        report = Dispatcher(database, channels, clock=Clock(T0), max_attempts=1).dispatch_due()
    finally:
        rejecting.stop()
    assert report.failed == 2
    with database.transaction() as session:
        errors = dict(session.execute(select(AlertRow.channel, AlertRow.last_error)).all())
    assert "550" in errors["rejects"], errors
    assert "mailbox unavailable" in errors["rejects"], errors
    assert "Connection refused" in errors["refuses"], errors
    assert "550" not in errors["refuses"]


# -- messages -------------------------------------------------------------------------------


def test_email_is_html_with_a_plain_part_in_the_channels_time_zone(
    database: Database, smtp_sink: SmtpSink
) -> None:
    seed(database, 1, body=STORY, outlet="AutoGuide.com")
    seed(database, 1, body=STORY, outlet="Motor Wire", prefix="Copy", now=T0 + timedelta(minutes=1))
    settings = {"team": Channel(timezone="Europe/Berlin")}
    clock = Clock(T0 + timedelta(minutes=2))
    report = Dispatcher(
        database, {"team": (smtp_sink.mailto(),)}, clock=clock, settings=settings
    ).dispatch_due()
    assert report.sent == 1  # the copy is the same story: no second alert
    [mail] = smtp_sink.messages
    assert mail["Subject"] == "[alliance] Story 0"
    assert mail.get_content_type() == "multipart/alternative"
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "<mark>Daimler</mark>" in html
    for part in (html, text):
        assert "2010-04-06 19:30 CEST" in part  # 17:30 UTC, in Berlin
        assert "AutoGuide.com" in part
        assert "Colum Wood" in part
        assert "https://autoguide.com.example/story-0" in part
        assert "Motor Wire" in part  # also reported by
    markdown = report.messages[0].body
    assert "> … **Daimler** and Renault …" in markdown
    assert "Also reported by:\n- Motor Wire: https://motorwire.example/copy-0" in markdown


def test_user_templates_override_the_built_in_ones(tmp_path: Path, database: Database) -> None:
    (tmp_path / "alert_title.txt").write_text("{{ entry.outlet }}: {{ entry.title }}", encoding="utf-8")
    seed(database, 1)
    with WebhookSink() as hook:
        Dispatcher(
            database, {"team": (hook.url(),)}, clock=Clock(T0), templates=Templates(tmp_path)
        ).dispatch_due()
        [body] = hook.accepted
    assert body["title"] == "Example News: Story 0"
    assert "Outlet: Example News" in body["message"]  # alert.md is still the built-in one


def test_a_broken_user_template_says_where(tmp_path: Path) -> None:
    (tmp_path / "alert.md").write_text("**{{ entry.title }**\n", encoding="utf-8")
    with pytest.raises(NotifyError, match=r"alert\.md:1: template error"):
        Templates(tmp_path).render("alert.md")


# -- digests, max_per_hour, quiet hours -----------------------------------------------------


def test_a_digest_rule_sends_one_message_per_channel_per_window(
    database: Database, smtp_sink: SmtpSink
) -> None:
    seed(database, 3, channels=("team", "desk"))
    clock = Clock(T0)
    with WebhookSink() as hook:
        dispatcher = Dispatcher(
            database,
            {"team": (smtp_sink.mailto(),), "desk": (hook.url(),)},
            clock=clock,
            settings={"team": Channel(timezone="Europe/Berlin"), "desk": Channel(timezone="Europe/Berlin")},
            rules={"alliance": RulePolicy(mode="digest", schedule="0 9 * * *")},
        )
        assert dispatcher.dispatch_due().held == 6
        assert dispatcher.dispatch_due().digests == 0
        clock.at(8, 59)
        assert dispatcher.dispatch_due().digests == 0  # the window is still open
        clock.at(9, 0)
        report = dispatcher.dispatch_due()
        assert report.digests == 2
        assert len(smtp_sink.messages) == 1
        assert len(hook.accepted) == 1
        assert smtp_sink.messages[0]["Subject"] == "[digest] 3 new matches for alliance"
        assert "up to 2026-11-26 09:00 CET" in hook.accepted[0]["message"]
        for index in range(3):
            assert f"Story {index}" in hook.accepted[0]["message"]
        clock.at(9, 0, day=27)
        assert dispatcher.dispatch_due().digests == 0  # empty window: nothing
    assert statuses(database) == ["sent"] * 6


def test_a_digest_lists_the_other_outlets_of_a_story(database: Database) -> None:
    seed(database, 1, body=STORY, outlet="AutoGuide.com")
    seed(database, 1, body=STORY, outlet="Motor Wire", prefix="Copy")
    clock = Clock(T0)
    with WebhookSink() as hook:
        dispatcher = Dispatcher(
            database, {"team": (hook.url(),)}, clock=clock, rules={"alliance": RulePolicy(mode="hourly")}
        )
        assert dispatcher.dispatch_due().held == 1  # one story, one alert
        clock.at(9, 0)
        assert dispatcher.dispatch_due().digests == 1
        [body] = hook.accepted
    assert body["title"] == "[digest] 1 new match for alliance"
    assert "Also reported by: Motor Wire" in body["message"]


def test_max_per_hour_overflow_rolls_into_the_next_digest(database: Database) -> None:
    seed(database, 5)
    clock = Clock(T0)
    with WebhookSink() as hook:
        dispatcher = Dispatcher(
            database,
            {"team": (hook.url(),)},
            clock=clock,
            rules={"alliance": RulePolicy(max_per_hour=2)},
            settings={"team": Channel(timezone="Europe/Berlin", digest="0 * * * *")},
        )
        report = dispatcher.dispatch_due()
        assert (report.sent, report.held) == (2, 3)
        clock.at(9, 0)
        assert dispatcher.dispatch_due().digests == 1
        titles = [body["title"] for body in hook.accepted]
        assert titles == ["[alliance] Story 0", "[alliance] Story 1", "[digest] 3 new matches for alliance"]
        for index in (2, 3, 4):
            assert f"Story {index}" in hook.accepted[2]["message"]
        seed(database, 2, prefix="Later", now=clock.now)  # a new hour: the rule may send again
        clock.advance(minutes=70)
        assert dispatcher.dispatch_due().sent == 2


def test_quiet_hours_hold_alerts_and_digests_until_they_end(database: Database) -> None:
    clock = Clock(T0).at(23, 0)
    seed(database, 1, now=clock.now)
    seed(database, 1, rule="weekly-roundup", prefix="Roundup", now=clock.now)
    quiet = Channel(timezone="Europe/Berlin", quiet_hours=parse_quiet_hours("22:00-07:00"))
    with WebhookSink() as hook:
        dispatcher = Dispatcher(
            database,
            {"team": (hook.url(),)},
            clock=clock,
            settings={"team": quiet},
            rules={"weekly-roundup": RulePolicy(mode="hourly")},
        )
        report = dispatcher.dispatch_due()
        assert (report.deferred, report.held) == (1, 1)
        clock.at(0, 1, day=27)
        assert dispatcher.close_windows() == 1  # the hourly window closed, but it is night
        report = dispatcher.dispatch_due()
        assert (report.sent, report.digests) == (0, 0)
        clock.at(6, 59, day=27)
        assert dispatcher.dispatch_due().sent == 0
        assert hook.accepted == []
        clock.at(7, 0, day=27)
        report = dispatcher.dispatch_due()
        assert (report.sent, report.digests) == (1, 1)
    with database.transaction() as session:
        digest = session.scalars(select(DigestRow)).one()
        assert digest.window_end == datetime(2026, 11, 27, 0, 0, tzinfo=BERLIN)  # the hourly window
        assert digest.sent_at == clock.now


# -- policy, pure functions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "quiet"),
    [("21:59", False), ("22:00", True), ("03:00", True), ("06:59", True), ("07:00", False), ("12:00", False)],
)
def test_quiet_hours_cross_midnight(local: str, quiet: bool) -> None:
    span = parse_quiet_hours("22:00-07:00")
    hour, minute = map(int, local.split(":"))
    assert span.contains(datetime(2026, 11, 26, hour, minute, tzinfo=BERLIN)) is quiet


def test_quiet_until_is_the_end_in_the_channels_zone() -> None:
    channel = Channel(timezone="Europe/Berlin", quiet_hours=parse_quiet_hours("22:00-07:00"))
    now = datetime(2026, 11, 26, 23, 30, tzinfo=BERLIN).astimezone(UTC)
    assert quiet_until(channel, "Europe/Berlin", now) == datetime(2026, 11, 27, 7, 0, tzinfo=BERLIN)
    assert quiet_until(Channel(), "UTC", now) is None
    with pytest.raises(ValueError, match="not a span"):
        parse_quiet_hours("late")


def test_digest_windows_follow_cron_in_the_zone_and_merge_after_downtime() -> None:
    oldest = datetime(2026, 11, 26, 8, 10, tzinfo=BERLIN)
    assert window_end("0 9 * * *", "Europe/Berlin", oldest, oldest + timedelta(minutes=30)) is None
    assert window_end("0 9 * * *", "Europe/Berlin", oldest, datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)) == (
        datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)
    )
    three_days_later = datetime(2026, 11, 29, 10, 0, tzinfo=BERLIN)
    assert window_end("0 9 * * *", "Europe/Berlin", oldest, three_days_later) == datetime(
        2026, 11, 29, 9, 0, tzinfo=BERLIN
    )


def test_digest_keys_for_each_mode() -> None:
    channel = Channel(digest="30 7 * * 1-5")
    assert digest_key(RulePolicy(), channel) is None
    assert digest_key(RulePolicy(mode="digest"), channel) == "30 7 * * 1-5"
    assert digest_key(RulePolicy(mode="digest", schedule="0 12 * * *"), channel) == "0 12 * * *"
    assert digest_key(RulePolicy(mode="daily"), channel) == "0 8 * * *"
    assert digest_key(RulePolicy(mode="weekly", schedule="0 7 * * 5"), channel) == "0 7 * * 5"


def test_backoff_doubles_with_jitter_and_a_cap() -> None:
    assert backoff(1, lambda: 0.0) == timedelta(seconds=15)
    assert backoff(1, lambda: 0.999) < timedelta(seconds=45)
    assert backoff(3, lambda: 0.5) == timedelta(minutes=2)
    assert backoff(30, lambda: 0.5) == timedelta(hours=1)
    delays = {backoff(2, random.Random(seed).random) for seed in range(20)}
    assert len(delays) == 20  # spread out: many failed alerts do not all return at once


# -- schema -------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_an_outbox_from_the_first_release_is_upgraded_in_place(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'old.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    )
    stamp, key = ("DATETIME", "INTEGER") if backend == "sqlite" else ("TIMESTAMP WITH TIME ZONE", "SERIAL")
    old = Database(url)
    with old.engine.begin() as connection:  # the alerts table as 0.1.0 created it
        connection.execute(
            text(
                f"CREATE TABLE alerts (id {key} PRIMARY KEY, rule VARCHAR(200), channel VARCHAR(200), "
                "article_id INTEGER, story_id INTEGER, match_id INTEGER, status VARCHAR(16), "
                "attempts INTEGER, "
                f"next_attempt_at {stamp}, lease_until {stamp}, delivered JSON, last_error TEXT, "
                f"created_at {stamp}, sent_at {stamp})"
            )
        )
    with pytest.raises(StorageError, match="run `monitor db upgrade`"):
        Database.open(url)  # an outdated schema is refused...
    upgrade(old.engine)  # ... until `monitor db upgrade` adds the new tables and columns
    old.close()
    with Database.open(url) as database:
        seed(database, 1)
        report = Dispatcher(database, {"team": (smtp_sink.mailto(),)}, clock=Clock(T0)).dispatch_due()
        assert report.sent == 1
