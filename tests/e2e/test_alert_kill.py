"""The dispatcher killed with SIGKILL in the middle of sending 200 alerts, 20 times.

Each round starts the real CLI (``monitor alerts send``) in a child process, waits until
the SMTP server (aiosmtpd on 127.0.0.1) has received a few more messages, and kills the
child with SIGKILL. Odd rounds kill the moment a message has arrived, the worst case: the
server has said "250 OK" and the worker has not yet recorded it. Even rounds kill after a
further random 0-250 ms, which lands anywhere in the send loop: inside an SMTP
transaction, between "250 OK" and the commit, or between two alerts. After the 20th kill
the dispatcher runs undisturbed until the outbox is empty.

What must hold: every alert arrives; each duplicate is a message the server accepted just
before a kill, before its delivery was recorded, so there is at most one per kill (one
worker sends one target at a time). The alerts a killed worker had claimed come back when
its lease (1 s here) runs out. The measured figures are printed (run with ``-s``).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitor.article import Article
from monitor.config.model import load_config
from monitor.demo.smtpsink import SmtpSink
from monitor.store.database import Database, save_article, save_match
from monitor.store.models import AlertRow

pytestmark = pytest.mark.slow
ALERTS = 200
KILLS = 20
LEASE_SECONDS = 1


def write_config(tmp_path: Path, sink: SmtpSink) -> Path:
    (tmp_path / "rules").mkdir()
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "database: sqlite:///monitor.db\n"
        "rules: [rules]\n"
        f"dispatch: {{lease: {LEASE_SECONDS}s}}\n"
        f"channels:\n  team: ['{sink.mailto()}']\n",
        encoding="utf-8",
    )
    return config


def seed(database: Database) -> None:
    now = datetime.now(UTC)
    with database.transaction() as session:
        for index in range(ALERTS):
            url = f"https://news.example/item-{index:03d}"
            article = Article(url=url, canonical_url=url, title=f"Item {index:03d}", body=f"Brief {index}.")
            row = save_article(session, article, now)
            assert row is not None
            save_match(session, row, "alliance", ["Daimler"], "**Daimler**", ["team"], now)


def unsent(database: Database) -> int:
    with database.transaction() as session:
        return int(session.scalar(select(func.count()).where(AlertRow.status != "sent")) or 0)


def test_sigkill_during_dispatch_loses_nothing_and_duplicates_at_most_one_per_kill(
    tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    config = write_config(tmp_path, smtp_sink)
    database = Database.open(load_config(config).database_url)
    seed(database)
    env = {key: value for key, value in os.environ.items() if not key.startswith("MONITOR_")}
    command = [sys.executable, "-m", "monitor", "--config", str(config), "alerts", "send"]
    rng = random.Random(5)
    log = tmp_path / "children.log"
    started = time.monotonic()
    kills = 0
    rounds: list[tuple[int, bool]] = []  # (messages received when killed, killed right at an arrival)
    while kills < KILLS:
        before = len(smtp_sink.messages)
        target = before + rng.randint(1, 8)
        with log.open("ab") as err:
            child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
        while len(smtp_sink.messages) < target and child.poll() is None:
            time.sleep(0.002)
        worst_case = kills % 2 == 0
        if not worst_case:
            time.sleep(rng.uniform(0, 0.25))
        if child.poll() is not None:  # it finished everything it could see before we killed it
            assert child.returncode == 0, log.read_text(errors="replace")
            if not unsent(database):
                break
            time.sleep(LEASE_SECONDS)  # what the killed workers still held comes back
            continue
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        kills += 1
        rounds.append((len(smtp_sink.messages), worst_case))
    killed_at = time.monotonic()
    for _ in range(20):  # undisturbed runs until the outbox is empty
        if not unsent(database):
            break
        time.sleep(LEASE_SECONDS + 0.2)
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
    assert unsent(database) == 0
    database.close()

    subjects = Counter(message["Subject"] for message in smtp_sink.messages)
    duplicates = sum(subjects.values()) - len(subjects)
    by_kind = Counter(
        kind_of(smtp_sink.messages, subject, rounds) for subject, n in subjects.items() if n > 1
    )
    print(  # noqa: T201 - the measured figure is this test's report (run with -s)
        f"\nSIGKILL test: {ALERTS} alerts, {kills} kills, {len(smtp_sink.messages)} emails received, "
        f"{len(subjects)} distinct, {duplicates} duplicate(s): {by_kind['arrival']} after the "
        f"{sum(worst for _n, worst in rounds)} kills at an arrival, {by_kind['random']} after the "
        f"{sum(not worst for _n, worst in rounds)} kills at a random moment; "
        f"{killed_at - started:.1f} s killing + {time.monotonic() - killed_at:.1f} s to finish"
    )
    assert len(subjects) == ALERTS  # every alert arrived
    assert kills == KILLS
    # At most the one send in flight at each kill (a resend can itself be hit by a later kill).
    assert duplicates <= kills


def kind_of(messages: list[EmailMessage], subject: str, rounds: list[tuple[int, bool]]) -> str:
    """Which kind of kill a duplicate followed: the first kill after its first arrival."""
    first = next(index for index, message in enumerate(messages) if message["Subject"] == subject)
    worst = next((worst for received, worst in rounds if received > first), None)
    return "arrival" if worst else "random" if worst is not None else "none"
