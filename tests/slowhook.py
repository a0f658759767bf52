"""A webhook receiver on 127.0.0.1 that takes its time, and an outbox full of alerts for it.

Tests of the dispatcher use it where ``tests.webhooksink`` answers too fast: a send
that takes ``delay`` seconds keeps a dispatch pass busy long enough to cut it (a database
outage, a kill) or to see whether two dispatchers send at once. ``seed_alerts`` stores
``count`` distinct stories, each with one pending alert.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from monitor.article import Article
from monitor.store.database import Database, save_article, save_match


class SlowReceiver:
    """A webhook receiver that takes ``delay`` seconds per request and remembers how many overlapped."""

    def __init__(self, delay: float = 0.2) -> None:
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
                time.sleep(delay)
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

    def titles(self) -> list[str]:
        """The titles of every alert received, in order."""
        with self.lock:
            return [body["title"] for body in self.bodies]


def seed_alerts(database_url: str, count: int, channel: str = "team") -> None:
    """Store ``count`` unrelated stories, each matched once: ``count`` alerts due now."""
    now = datetime.now(UTC) - timedelta(minutes=1)
    with Database.open(database_url) as database, database.transaction() as session:
        for index in range(count):
            url = f"https://news.example/story/{index}"
            words = " ".join(f"word{index}x{offset}" for offset in range(60))  # no two cluster
            article = Article(url=url, canonical_url=url, title=f"Story {index}", body=words)
            row = save_article(session, article, now)
            assert row is not None
            save_match(session, row, "alliance", ["Daimler"], "**Daimler**", [channel], now)
