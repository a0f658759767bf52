"""A local webhook receiver on 127.0.0.1 that keeps what it accepts, like ``monitor.demo.smtpsink``.

Tests point apprise's ``json://`` targets at it to check where alerts really arrive, and it
can misbehave on cue: ``WebhookSink(script=["500", "timeout", "200"])`` answers the first
request with a server error, lets the second one hang past the client's timeout, and
accepts the third and every later one. ``requests`` records every request with what it
got; ``accepted`` lists the JSON bodies of the ones answered 200.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG_SECONDS = 3.0  # how long a "timeout" answer keeps the client waiting (beyond its read timeout)


@dataclass(frozen=True, slots=True)
class Received:
    """One request: its path, its JSON body (None if not JSON) and the answer it got."""

    path: str
    body: Any
    outcome: str  # "200", "500", "timeout"


class WebhookSink:
    """An HTTP server in a background thread that answers per ``script`` (then 200)."""

    def __init__(self, script: Sequence[str] = (), host: str = "127.0.0.1", port: int = 0) -> None:
        self.script = list(script)
        self.requests: list[Received] = []
        self.host = host
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def accepted(self) -> list[Any]:
        """The JSON bodies of the requests answered 200."""
        with self._lock:
            return [request.body for request in self.requests if request.outcome == "200"]

    def url(self, path: str = "/hook", query: str = "") -> str:
        """The apprise ``json://`` URL of this receiver (short timeouts for tests)."""
        params = "rto=1&cto=1" + (f"&{query}" if query else "")
        return f"json://{self.host}:{self.port}{path}?{params}"

    def _next(self) -> str:
        with self._lock:
            return self.script.pop(0) if self.script else "200"

    def _record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                outcome = sink._next()
                sink._record(Received(self.path, body, outcome))
                if outcome == "timeout":
                    time.sleep(HANG_SECONDS)
                    self.close_connection = True
                    return
                status = int(outcome)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet: tests read ``requests`` instead."""

        return Handler

    def start(self) -> WebhookSink:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="webhook-sink", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(10)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> WebhookSink:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
