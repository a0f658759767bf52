"""One dispatcher per process: `monitor run`'s dispatch job and the dispatch after a crawl
never send at the same time, so one kill of the process costs at most one duplicate.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from monitor.article import Article
from monitor.schedule import run_dispatch_job
from monitor.store import Database, save_article, save_match

ALERTS = 12
WORDS = ["alliance", "electric", "vans", "plants", "software", "suppliers", "batteries", "Europe", "prices"]


class SlowReceiver:
    """A webhook receiver that takes 0.2 s per request and remembers how many overlapped."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.bodies: list[Any] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                with receiver.lock:
                    receiver.in_flight += 1
                    receiver.most_in_flight = max(receiver.most_in_flight, receiver.in_flight)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(0.2)
                with receiver.lock:
                    receiver.in_flight -= 1
                    receiver.bodies.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/hook?rto=5&cto=5"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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
        now = datetime.now(UTC) - timedelta(minutes=1)
        database = Database(f"sqlite:///{tmp_path / 'monitor.db'}")
        with database.transaction() as session:
            for index in range(ALERTS):
                url = f"https://news.example/story/{index}"
                words = " ".join(f"{WORDS[offset % len(WORDS)]}{index}x{offset}" for offset in range(60))
                article = Article(url=url, canonical_url=url, title=f"Story {index}", body=words)
                row = save_article(session, article, now)
                assert row is not None
                save_match(session, row, "alliance", ["Daimler"], "**Daimler**", ["team"], now)
        database.close()
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
