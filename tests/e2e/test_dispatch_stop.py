"""SIGTERM stops `monitor dispatch` after the alert in flight, not after the whole backlog.

It used to check for a stop only between passes, and a pass drains everything due: 269
more alerts over 15 s, past systemd's patience (its SIGKILL then costs a duplicate).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from monitorproc import start_monitor
from slowhook import SlowReceiver, seed_alerts

pytestmark = pytest.mark.slow
BACKLOG = 300


@pytest.mark.timeout(120)
def test_sigterm_with_a_backlog_exits_within_seconds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    seed_alerts(url, BACKLOG)
    receiver = SlowReceiver(delay=0.05)
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"database: {url}\nrules: []\nchannels:\n  team: ['{receiver.url()}']\n", encoding="utf-8"
    )
    process = start_monitor(config, "dispatch")
    try:
        deadline = time.monotonic() + 60
        while len(receiver.titles()) < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        at_stop = len(receiver.titles())
        asked = time.monotonic()
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
        took = time.monotonic() - asked
    finally:
        receiver.close()
    assert process.returncode == 0, stderr
    assert took < 5, f"stopped after {took:.1f} s"
    assert len(receiver.titles()) <= at_stop + 2  # the send in flight, nothing more
    assert f"dispatch: {len(receiver.titles())} sent" in stdout
