"""One dispatcher per process: `monitor run`'s dispatch job and the dispatch after a crawl
never send at the same time, so one kill of the process costs at most one duplicate.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from slowhook import SlowReceiver, seed_alerts

from monitor.ops.schedule import run_dispatch_job

ALERTS = 12


@pytest.mark.timeout(120)
def test_two_dispatch_jobs_of_one_process_never_send_at_once(tmp_path: Path) -> None:
    receiver = SlowReceiver()
    try:
        (tmp_path / "rules").mkdir()
        config = tmp_path / "monitor.yaml"
        config.write_text(
            f"database: sqlite:///{tmp_path / 'monitor.db'}\nrules: [{tmp_path / 'rules'}]\n"
            f"channels:\n  team: ['{receiver.url()}']\n",
            encoding="utf-8",
        )
        seed_alerts(f"sqlite:///{tmp_path / 'monitor.db'}", ALERTS)
        # The scheduler's dispatch job and a crawl job's dispatch, started together.
        jobs = [threading.Thread(target=run_dispatch_job, args=(str(config),)) for _ in range(2)]
        for job in jobs:
            job.start()
        for job in jobs:
            job.join()
        titles = sorted(body["title"] for body in receiver.bodies)
        assert len(titles) == ALERTS, titles
        assert len(set(titles)) == ALERTS  # each alert once
        assert receiver.most_in_flight == 1
    finally:
        receiver.close()
