"""A local SMTP sink (aiosmtpd) that keeps every message it receives.

The demo mails its alerts here, and the end-to-end tests check delivery here: a real SMTP
server on 127.0.0.1, not a mock. Messages are kept in memory and, when a mailbox path is
given, appended to an mbox file so they survive the process.
"""

from __future__ import annotations

import asyncio
import mailbox
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


class SmtpSink:
    """An SMTP server in a background thread; ``messages`` lists what arrived."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, mbox: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.mbox = mbox
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """aiosmtpd handler hook: keep the message."""
        raw = envelope.original_content or b""
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
            if self.mbox is not None:
                box = mailbox.mbox(self.mbox)
                try:
                    box.add(message)
                finally:
                    box.close()
        return "250 Message accepted for delivery"

    def start(self) -> SmtpSink:
        """Listen (port 0 picks a free port, then ``self.port`` holds it)."""
        ready = threading.Event()

        async def serve() -> None:
            self._server = await self._loop.create_server(
                lambda: SMTP(self, hostname="monitor-sink", ident="monitor smtp sink"), self.host, self.port
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="smtp-sink", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("SMTP sink did not start")
        return self

    def stop(self) -> None:
        """Close the listening socket and the loop."""
        if self._thread is None:
            return

        async def close() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._thread = None

    def mailto(self, sender: str = "monitor@localhost", recipient: str = "alerts@localhost") -> str:
        """The apprise URL that delivers to this sink."""
        return f"mailto://{self.host}:{self.port}?from={sender}&to={recipient}"

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
