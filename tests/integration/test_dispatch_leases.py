"""Leases that run out mid-batch, SIGTERM with a backlog, and claims abandoned in an outage.

A worker claims a batch under one lease. With a slow target the lease could run out before
the batch's last alerts were sent, another worker re-claimed them, and both sent: 8
duplicates in 40 alerts with ``lease: 5s`` and a target taking 1 s per send. A worker must
hold a valid lease on an alert at the moment it sends it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from slowhook import SlowReceiver, seed_alerts
from sqlalchemy import select, update

from monitor.notify import Dispatcher
from monitor.store.database import Database
from monitor.store.models import AlertRow


@pytest.mark.timeout(180)
def test_two_workers_with_a_short_lease_and_a_slow_target_send_each_alert_once(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    seed_alerts(database.url, 40)
    receiver = SlowReceiver(delay=0.5)  # the 1 s per send and 5 s lease, both halved
    try:
        workers = [
            Dispatcher(database, {"team": (receiver.url(),)}, lease=timedelta(seconds=2.5)) for _ in range(2)
        ]
        threads = [threading.Thread(target=worker.dispatch_due) for worker in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        leftovers = [Dispatcher(database, {"team": (receiver.url(),)}).dispatch_due()]  # expired leases
    finally:
        receiver.close()
    titles = receiver.titles()
    duplicates = {title: count for title, count in Counter(titles).items() if count > 1}
    assert duplicates == {}
    assert len(titles) == 40, leftovers
    with database.transaction() as session:
        assert set(session.scalars(select(AlertRow.status))) == {"sent"}


@pytest.mark.timeout(60)
def test_a_stop_ends_the_pass_after_the_alert_in_flight_and_gives_the_rest_back(database: Database) -> None:
    seed_alerts(database.url, 30)
    receiver = SlowReceiver(delay=0.3)
    stop = threading.Event()
    try:
        worker = Dispatcher(database, {"team": (receiver.url(),)}, stop=stop)
        thread = threading.Thread(target=worker.dispatch_due)
        thread.start()
        while len(receiver.titles()) < 3:
            time.sleep(0.05)
        stop.set()
        asked = time.monotonic()
        thread.join(timeout=30)
        stopped_after = time.monotonic() - asked
    finally:
        receiver.close()
    assert not thread.is_alive()
    assert stopped_after < 5
    assert len(receiver.titles()) <= 5  # the one in flight, not the rest of the backlog
    with database.transaction() as session:
        statuses = Counter(session.scalars(select(AlertRow.status)))
    assert statuses["sending"] == 0  # nothing left leased: another worker may take it at once
    assert statuses["sent"] == len(receiver.titles())
    assert statuses["pending"] == 30 - len(receiver.titles())


def test_claims_abandoned_in_an_outage_are_given_back_at_the_next_pass(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    seed_alerts(database.url, 5)
    receiver = SlowReceiver(delay=0.0)
    try:
        worker = Dispatcher(database, {"team": (receiver.url(),)})
        with database.transaction() as session:  # a claim whose batch the outage cut short
            token = uuid.uuid4().hex
            worker.unfinished.add(token)  # as dispatch_due leaves it when the database goes away
            session.execute(
                update(AlertRow).values(
                    status="sending", lease_token=token, lease_until=worker.clock() + worker.lease
                )
            )
        caplog.set_level(logging.INFO)
        report = worker.dispatch_due()
    finally:
        receiver.close()
    assert report.sent == 5  # not left waiting for the 5-minute lease
    assert sorted(receiver.titles()) == [f"[alliance] Story {index}" for index in range(5)]
