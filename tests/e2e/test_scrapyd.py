"""Crawls handed to a real scrapyd on 127.0.0.1: deploy the egg, schedule, articles stored.

The project is copied to a temporary folder and deployed with ``scrapyd-deploy`` (its
``scrapy.cfg`` ``[deploy]`` target pointed at the test's port), exactly as an operator
deploys it; the scheduler's crawl job then hands the crawl to scrapyd's ``schedule.json``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitor.config.model import load_config
from monitor.crawl.scrapyd import Node, ScrapydError, hand_to_scrapyd
from monitor.demo.server import SiteServer, site_root
from monitor.ops.schedule import run_crawl_job
from monitor.store.database import Database
from monitor.store.models import ArticleRow, CrawlRun

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("MONITOR_")}


def _wait(what: str, check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _deploy(tmp_path: Path, port: int) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("monitor", "spiders"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    cfg = (ROOT / "scrapy.cfg").read_text(encoding="utf-8").replace("127.0.0.1:6800", f"127.0.0.1:{port}")
    (project / "scrapy.cfg").write_text(cfg, encoding="utf-8")
    deployed = subprocess.run(
        [str(BIN / "scrapyd-deploy"), "-p", "monitor", "-v", "1"],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert deployed.returncode == 0, deployed.stderr
    assert '"status": "ok"' in deployed.stdout, deployed.stdout + deployed.stderr


def test_scrapyd_runs_the_scheduled_crawl(tmp_path: Path) -> None:
    port = _free_port()
    node_dir = tmp_path / "scrapyd"
    node_dir.mkdir()
    (node_dir / "scrapyd.conf").write_text(
        (ROOT / "deploy" / "scrapyd.conf")
        .read_text(encoding="utf-8")
        .replace("http_port = 6800", f"http_port = {port}")
        .replace("/var/lib/scrapyd/", f"{node_dir}/")
        .replace("/var/log/scrapyd", f"{node_dir}/logs")
        .replace("poll_interval = 5.0", "poll_interval = 0.5"),
        encoding="utf-8",
    )
    scrapyd = subprocess.Popen(
        [str(BIN / "scrapyd")], cwd=node_dir, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    node = Node.parse(f"http://127.0.0.1:{port}")
    try:
        _wait("scrapyd to listen", lambda: _answers(node), 60)
        _deploy(tmp_path, port)
        with SiteServer(site_root()) as site:
            config_path = tmp_path / "monitor.yaml"
            config_path.write_text(
                f"""\
database: sqlite:///{tmp_path / "monitor.db"}
rules: [{ROOT / "rules"}]
sources:
  - name: autoguide-feed
    kind: feed
    url: {site.url}/autoguide/feed.xml
    allow_private: true
scrapyd: ['http://127.0.0.1:{port}']
""",
                encoding="utf-8",
            )
            run_crawl_job(str(config_path), "autoguide-feed")  # the scheduler's job: hands it over
            config = load_config(config_path, environ={})
            again = hand_to_scrapyd(config, config.source("autoguide-feed"))
            assert again.job is None  # still pending or running: not queued twice
            database = Database.open(config.database_url)

            def stored() -> bool:
                with database.transaction() as session:
                    done = session.scalar(select(func.count()).where(CrawlRun.status == "ok"))
                    return bool(done)

            try:
                _wait("the crawl to finish on scrapyd", stored, 120)
                with database.transaction() as session:
                    articles = session.scalar(select(func.count()).select_from(ArticleRow))
            finally:
                database.close()
        _wait(
            "scrapyd to see the job end",
            lambda: node.call("listjobs.json", {"project": "monitor"})["finished"],
            60,
        )
        jobs = node.call("listjobs.json", {"project": "monitor"})
    finally:
        scrapyd.send_signal(signal.SIGTERM)
        scrapyd.communicate(timeout=60)
    assert articles == 8  # the feed lists 8 articles of the demo site
    finished = [job["id"] for job in jobs["finished"]]
    assert len(finished) == 1
    assert finished[0].startswith("autoguide-feed--")


def _answers(node: Node) -> bool:
    try:
        node.call("daemonstatus.json")
    except ScrapydError:
        return False
    return True


def test_node_urls_keep_their_login_out_of_messages() -> None:
    node = Node.parse("http://crawler:s%40cret@10.0.0.5:6800/")
    assert node.url == "http://10.0.0.5:6800"
    assert node.auth == "Basic Y3Jhd2xlcjpzQGNyZXQ="  # crawler:s@cret
    with pytest.raises(ScrapydError) as caught:
        Node.parse(f"http://user:secret@127.0.0.1:{_free_port()}").call("daemonstatus.json")
    assert "secret" not in str(caught.value)
