"""Many pending alerts at once, for the worker test and ``tests/bench/scale.py``.

Bulk ``INSERT``s through SQLAlchemy Core (psycopg sends them as one pipelined batch): a
story, an article, a match and an alert per number, so every alert is a distinct message
whose subject, ``[scale] Scale alert #N``, says which one it is.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import delete, insert

from monitor.store.database import Database
from monitor.store.models import AlertRow, ArticleRow, MatchRow, Story

RULE = "scale"
CHANNEL = "alerts"


def subject(number: int) -> str:
    """The subject line the alert number ``number`` arrives with."""
    return f"[{RULE}] Scale alert #{number}"


def seed_alerts(database: Database, count: int, start: int = 1) -> None:
    """Insert ``count`` pending alerts numbered from ``start``, due now."""
    now = datetime.now(UTC)
    numbers = range(start, start + count)
    with database.transaction() as session:
        session.execute(
            insert(Story),
            [{"id": n, "title": f"Scale alert #{n}", "signature": b"", "created_at": now} for n in numbers],
        )
        session.execute(
            insert(ArticleRow),
            [
                {
                    "id": n,
                    "canonical_url": f"https://scale.example/{n}",
                    "url": f"https://scale.example/{n}",
                    "source": "scale",
                    "title": f"Scale alert #{n}",
                    "body": "Daimler and Renault team up.",
                    "authors": [],
                    "fetched_at": now,
                    "story_id": n,
                }
                for n in numbers
            ],
        )
        session.execute(
            insert(MatchRow),
            [
                {
                    "id": n,
                    "rule": RULE,
                    "article_id": n,
                    "terms": ["Daimler"],
                    "snippet": "",
                    "created_at": now,
                }
                for n in numbers
            ],
        )
        session.execute(
            insert(AlertRow),
            [
                {
                    "id": n,
                    "rule": RULE,
                    "channel": CHANNEL,
                    "article_id": n,
                    "story_id": n,
                    "match_id": n,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "delivered": [],
                    "created_at": now,
                }
                for n in numbers
            ],
        )


def clear_alerts(database: Database) -> None:
    """Delete every alert, match, article and story (between benchmark rounds)."""
    with database.transaction() as session:
        for model in (AlertRow, MatchRow, ArticleRow, Story):
            session.execute(delete(model))


class JsonSink:
    """A real HTTP receiver on 127.0.0.1 for apprise ``json://`` targets; keeps each title.

    Faster per message than SMTP through apprise (whose mail plugin builds a TLS context
    for every message), so 10,000 alerts fit in a test's time.
    """

    def __init__(self) -> None:
        self.titles: list[str] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length) or b"{}")
                with sink._lock:
                    sink.titles.append(str(payload.get("title", "")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads ``titles``."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self) -> str:
        """The apprise URL that posts to this receiver."""
        return f"json://127.0.0.1:{self._server.server_address[1]}/alerts"

    def __enter__(self) -> JsonSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
