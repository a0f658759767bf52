"""`monitor run`: the scheduler crawls on its schedule, alerts arrive, SIGTERM stops it cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from monitorproc import monitor_env, start_monitor

from monitor.demo.server import SiteServer, site_root
from monitor.demo.smtpsink import SmtpSink

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]


def test_run_crawls_on_schedule_and_stops_on_sigterm(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    shipped = (ROOT / "rules" / "daimler-renault.yaml").read_text(encoding="utf-8")
    (rules / "daimler-renault.yaml").write_text(shipped, encoding="utf-8")
    with SiteServer(site_root()) as site:
        config = tmp_path / "monitor.yaml"
        config.write_text(
            f"""\
rules: [{rules}]
sources:
  - name: autoguide-feed
    kind: feed
    url: {site.url}/autoguide/feed.xml
    schedule: {{every: 1s, jitter: 0}}
    allow_private: true
channels:
  alerts: ['{smtp_sink.mailto()}']
dispatch: {{every: 1s}}
""",
            encoding="utf-8",
        )
        env = monitor_env(tmp_path / "cache")
        process = start_monitor(config, "run", cache=tmp_path / "cache")
        try:
            deadline = time.monotonic() + 90
            while not smtp_sink.messages and time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.2)
            second = subprocess.run(
                [sys.executable, "-m", "monitor", "--config", str(config), "run"],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
                check=False,
            )
            assert second.returncode == 1
            assert "another `monitor run` already schedules monitor.db" in second.stderr
            # A rule file broken while monitor runs is reported, and its last good version runs on.
            (rules / "daimler-renault.yaml").write_text(shipped.replace("NEAR/20", "NEAR/"), encoding="utf-8")
            time.sleep(4)  # more scheduled crawls and rule checks: they must not alert again
        finally:
            process.send_signal(signal.SIGTERM)
            stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        assert "crawl autoguide-feed (every 1s, jitter 0s): next run" in stdout
        assert stdout.rstrip().endswith("stopped")
        assert len(smtp_sink.messages) == 1, stderr
        assert "Daimler, Renault Team Up" in smtp_sink.messages[0]["Subject"]
        # The scheduler's rule check reports it once, not every second.
        assert stderr.count("rule file broken, its last good version keeps running") == 1, stderr
        assert "NEAR needs a number of words" in stderr
        feed_fetches = [path for path in site.requests if path == "/autoguide/feed.xml"]
        assert len(feed_fetches) >= 2  # it kept crawling on schedule
