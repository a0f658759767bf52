"""Faults the alert path must survive, with real servers on 127.0.0.1.

- The SMTP server (aiosmtpd) is down while 50 alerts are due, then comes back on the same
  port: all 50 arrive, each exactly once.
- A webhook receiver (apprise ``json://``) answers 500, then hangs past the client's read
  timeout, then 200: the alert arrives once, after three attempts.

The dispatcher's clock is injected so the backoff delays pass at once; the sends are real.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from webhooksink import WebhookSink

from monitor.article import Article
from monitor.demo.smtpsink import SmtpSink
from monitor.notify import Dispatcher
from monitor.store.database import Database, save_article, save_match
from monitor.store.models import AlertRow

pytestmark = pytest.mark.slow
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def seed(database: Database, count: int) -> None:
    with database.transaction() as session:
        for index in range(count):
            url = f"https://news.example/alliance-{index:03d}"
            article = Article(
                url=url, canonical_url=url, title=f"Alliance update {index:03d}", body=f"Brief {index}."
            )
            row = save_article(session, article, T0)
            assert row is not None
            save_match(session, row, "alliance", ["Daimler"], "**Daimler**", ["team"], T0)


def alert_states(database: Database) -> Counter[str]:
    with database.transaction() as session:
        return Counter(session.scalars(select(AlertRow.status)))


def test_smtp_down_while_50_alerts_are_due_then_back(sqlite_url: str) -> None:
    """On SQLite only: apprise spends ~40 ms per email building a TLS context, and the
    outbox logic is the same on PostgreSQL (covered by the webhook test below)."""
    database = Database.open(sqlite_url)
    down = SmtpSink().start()
    port = down.port
    down.stop()  # nothing listens on the port now
    seed(database, 50)
    clock = Clock()
    dispatcher = Dispatcher(
        database,
        {"team": (f"mailto://127.0.0.1:{port}?from=monitor@localhost&to=desk@localhost",)},
        clock=clock,
    )

    first = dispatcher.dispatch_due()
    assert (first.sent, first.retrying, first.failed) == (0, 50, 0)
    assert alert_states(database) == {"pending": 50}

    with SmtpSink(port=port) as sink:
        clock.now += timedelta(seconds=10)  # still inside every backoff delay: nothing is due
        assert dispatcher.dispatch_due().sent == 0
        clock.now += timedelta(minutes=2)
        assert dispatcher.dispatch_due().sent == 50
        clock.now += timedelta(hours=3)
        assert dispatcher.dispatch_due().sent == 0
        subjects = Counter(message["Subject"] for message in sink.messages)
    assert len(subjects) == 50
    assert set(subjects.values()) == {1}
    assert alert_states(database) == {"sent": 50}
    database.close()


def test_webhook_500_then_timeout_then_200_arrives_once(database: Database) -> None:
    seed(database, 1)
    clock = Clock()
    with WebhookSink(script=["500", "timeout", "200"]) as hook:
        dispatcher = Dispatcher(database, {"team": (hook.url(),)}, clock=clock)
        reports = []
        for _ in range(4):
            reports.append(dispatcher.dispatch_due())
            clock.now += timedelta(minutes=10)
        assert [(report.sent, report.retrying) for report in reports] == [(0, 1), (0, 1), (1, 0), (0, 0)]
        assert [request.outcome for request in hook.requests] == ["500", "timeout", "200"]
        assert len(hook.accepted) == 1
        assert hook.accepted[0]["title"] == "[alliance] Alliance update 000"
    with database.transaction() as session:
        alert = session.scalars(select(AlertRow)).one()
        assert (alert.status, alert.attempts, alert.last_error) == ("sent", 3, None)
