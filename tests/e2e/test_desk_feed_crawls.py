"""A feed reader's view across two real crawls: one Atom entry per story, its id never changes.

`monitor crawl` runs the real spider against the bundled demo site; `monitor web` serves the
desk as its own process; feedparser reads the rule's feed after each crawl. The second
crawl finds Motor Wire's copy of the AutoGuide story: the entry must stay one entry with
the same id, now naming the copy, so a reader never shows the story twice.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import feedparser
import httpx
import pytest
from monitorproc import monitor_env

from monitor.demo.server import SiteServer, site_root

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]
FEED = "/feeds/daimler-renault-alliance.atom"


def write_config(tmp_path: Path, site: SiteServer) -> Path:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"""\
database: sqlite:///monitor.db
rules: [{ROOT / "rules"}]
sources:
  - {{name: autoguide-feed, kind: feed, url: '{site.url}/autoguide/feed.xml', allow_private: true}}
  - name: motorwire-industry
    kind: listing
    url: {site.url}/motorwire/industry/
    follow: ['/motorwire/industry/\\d{{4}}/\\d{{2}}/[^/]+/$']
    allow_private: true
channels:
  alerts: ['${{NO_ALERT_URL:-}}']
""",
        encoding="utf-8",
    )
    return config


def monitor(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=monitor_env(),
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def site() -> Iterator[SiteServer]:
    with SiteServer(site_root()) as server:
        yield server


def serve_desk(config: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "monitor",
        "--config",
        str(config),
        "web",
        "--listen",
        f"127.0.0.1:{port}",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=monitor_env(), stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(url + "/", timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
        else:
            return process, url
    process.kill()
    process.wait(10)
    raise AssertionError(f"monitor web did not start: {log.read_text(errors='replace')}")


def test_a_story_keeps_one_entry_and_its_id_across_two_crawls(tmp_path: Path, site: SiteServer) -> None:
    config = write_config(tmp_path, site)
    first = monitor(config, "crawl", "autoguide-feed")
    assert first.returncode == 0, first.stderr + first.stdout

    desk, url = serve_desk(config, tmp_path / "web.log")
    try:
        before = feedparser.parse(httpx.get(url + FEED).content)
        assert before.bozo == 0
        assert [entry.title for entry in before.entries] == [
            "Report: Daimler, Renault Team Up for Small Car Alliance"
        ]
        entry = before.entries[0]
        assert "Also reported by" not in entry.content[0].value

        second = monitor(config, "crawl", "motorwire-industry")
        assert second.returncode == 0, second.stderr + second.stdout
        after = feedparser.parse(httpx.get(url + FEED).content)
    finally:
        desk.terminate()
        desk.wait(10)

    assert [item.id for item in after.entries] == [entry.id]  # the same story, the same id
    assert after.entries[0].updated_parsed >= entry.updated_parsed
    assert "Also reported by" in after.entries[0].content[0].value
    assert "Motor Wire" in after.entries[0].content[0].value
