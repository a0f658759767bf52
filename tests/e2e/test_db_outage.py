"""A 10-second cut between monitor and PostgreSQL: workers and `monitor run` ride it out.

The cut is made by ``tests/tcpproxy.py`` between the processes and the real server (which
other tests share, so it is never stopped): every connection is reset and new ones are
refused for ten seconds, then the link comes back. Every process must still be running,
say once that the database was unreachable (no traceback), and carry on.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from monitorproc import start_monitor
from slowhook import SlowReceiver, seed_alerts
from tcpproxy import TcpProxy

from monitor.demo.server import SiteServer, site_root

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ALERTS = 300
CUT_SECONDS = 10


@pytest.fixture
def proxied_url(postgres_url: str) -> Iterator[tuple[str, TcpProxy]]:
    """The test schema's URL, through a proxy that can cut the link."""
    with TcpProxy(("127.0.0.1", 5432)) as proxy:
        yield postgres_url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/", 1), proxy


def _stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    _, stderr = process.communicate(timeout=60)
    return stderr


@pytest.mark.timeout(240)
def test_dispatch_workers_ride_out_a_database_cut(proxied_url: tuple[str, TcpProxy], tmp_path: Path) -> None:
    url, proxy = proxied_url
    seed_alerts(url, ALERTS)
    receiver = SlowReceiver(delay=0.02)
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"database: '{url}'\nrules: []\nchannels:\n  team: ['{receiver.url()}']\n", encoding="utf-8"
    )
    workers = [start_monitor(config, "dispatch", "--every", "0.5") for _ in range(2)]
    try:
        deadline = time.monotonic() + 60
        while len(receiver.titles()) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        proxy.cut()
        time.sleep(CUT_SECONDS)
        assert [worker.poll() for worker in workers] == [None, None]
        proxy.restore()
        deadline = time.monotonic() + 60
        while len(set(receiver.titles())) < ALERTS and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [worker.poll() for worker in workers] == [None, None], "a worker died"
    finally:
        errors = [_stop(worker) for worker in workers]
        receiver.close()
    titles = receiver.titles()
    assert len(set(titles)) == ALERTS  # all sent
    duplicates = sum(count - 1 for count in Counter(titles).values())
    assert duplicates <= len(workers)  # at most one per worker per cut
    for stderr in errors:
        assert "Traceback" not in stderr, stderr
        assert stderr.count("database unreachable") == 1, stderr  # one line per outage


@pytest.mark.timeout(240)
def test_monitor_run_rides_out_a_database_cut(proxied_url: tuple[str, TcpProxy], tmp_path: Path) -> None:
    url, proxy = proxied_url
    with SiteServer(site_root()) as site:
        config = tmp_path / "monitor.yaml"
        config.write_text(
            f"""\
database: '{url}'
rules: []
sources:
  - {{name: autoguide, kind: feed, url: '{site.url}/autoguide/feed.xml', allow_private: true,
     schedule: {{every: 2s, jitter: 0}}}}
channels:
  alerts: ['json://127.0.0.1:9/unused']
dispatch: {{every: 1s}}
""",
            encoding="utf-8",
        )
        process = start_monitor(config, "run")
        try:
            deadline = time.monotonic() + 60
            while site.requests.count("/autoguide/feed.xml") < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert site.requests.count("/autoguide/feed.xml") >= 2, "monitor run never crawled"
            proxy.cut()
            time.sleep(CUT_SECONDS)
            assert process.poll() is None, "monitor run died during the cut"
            proxy.restore()
            restored = site.requests.count("/autoguide/feed.xml")
            deadline = time.monotonic() + 60
            while site.requests.count("/autoguide/feed.xml") < restored + 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert process.poll() is None, "monitor run died after the cut"
            assert site.requests.count("/autoguide/feed.xml") >= restored + 2, "no crawl after the cut"
        finally:
            stderr = _stop(process)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert "standing by to take it back" in stderr
