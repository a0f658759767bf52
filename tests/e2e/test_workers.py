"""Several ``monitor dispatch`` workers on one PostgreSQL: every alert is sent exactly once.

Real processes, the real PostgreSQL and real receivers on 127.0.0.1. 10,000 alerts go to
an HTTP receiver through apprise ``json://``: apprise's mail plugin builds a TLS context
for every message, which caps SMTP near 30 messages a second per process on this
two-core machine, too slow for 10,000 in a test. A smaller batch checks the same through
the real SMTP sink (aiosmtpd).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from scale_seed import JsonSink, seed_alerts, subject
from sqlalchemy import func, select

from monitor.demo.smtpsink import SmtpSink
from monitor.store.database import Database
from monitor.store.models import AlertRow

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ROOT = Path(__file__).parents[2]


def _dispatchers(config: Path, count: int, timeout: float) -> list[str]:
    """Run ``count`` workers with ``--once`` at the same time; their outputs."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MONITOR_")}
    command = [sys.executable, "-m", "monitor", "--config", str(config), "dispatch", "--once"]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        for _ in range(count)
    ]
    outputs = []
    deadline = time.monotonic() + timeout
    for process in processes:
        out, _ = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
        assert process.returncode == 0, out
        outputs.append(out)
    return outputs


def _config(tmp_path: Path, database_url: str, target: str) -> Path:
    (tmp_path / "rules").mkdir()
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"database: '{database_url}'\nrules: [rules]\nchannels:\n  alerts: ['{target}']\n", encoding="utf-8"
    )
    return path


def _assert_all_sent(database: Database, count: int) -> None:
    with database.transaction() as session:
        rows = session.execute(select(AlertRow.status, func.count()).group_by(AlertRow.status)).all()
    assert dict(rows) == {"sent": count}


def test_four_dispatchers_send_10000_alerts_exactly_once(tmp_path: Path, postgres_url: str) -> None:
    database = Database.open(postgres_url)
    seed_alerts(database, 10_000)
    with JsonSink() as sink:
        outputs = _dispatchers(_config(tmp_path, postgres_url, sink.url()), 4, timeout=240)
        received = Counter(sink.titles)
    assert len(received) == 10_000
    assert max(received.values()) == 1, received.most_common(3)
    assert set(received) == {subject(number) for number in range(1, 10_001)}
    sent = [int(out.split("dispatch: ")[-1].split()[0]) for out in outputs]
    assert sum(sent) == 10_000, outputs
    assert sum(1 for number in sent if number) >= 2, outputs  # the work was shared
    _assert_all_sent(database, 10_000)
    database.close()


def test_four_dispatchers_mail_each_alert_once(tmp_path: Path, postgres_url: str) -> None:
    database = Database.open(postgres_url)
    seed_alerts(database, 400)
    with SmtpSink() as sink:
        _dispatchers(_config(tmp_path, postgres_url, sink.mailto()), 4, timeout=120)
        received = Counter(str(message["Subject"]) for message in sink.messages)
    assert received == Counter({subject(number): 1 for number in range(1, 401)})
    _assert_all_sent(database, 400)
    database.close()
