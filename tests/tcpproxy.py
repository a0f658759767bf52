"""A TCP proxy on 127.0.0.1 that can cut every connection on cue, for database outage tests.

``TcpProxy(("127.0.0.1", 5432))`` listens on a free loopback port and relays each client
to the target. ``cut()`` resets every open connection and refuses new ones (they are
accepted and closed at once, as a server behind a dead link looks to a client) until
``restore()``. That is a network blip between monitor and PostgreSQL without touching the
server, which other tests share.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
from typing import Any


class TcpProxy:
    """Relay 127.0.0.1:port to ``target``; ``cut()`` and ``restore()`` the link."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.up = threading.Event()
        self.up.set()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._closing.set()
        self.listener.close()
        self.cut()

    def cut(self) -> None:
        """Reset every relayed connection and refuse new ones until ``restore``."""
        self.up.clear()
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            _reset(sock)

    def restore(self) -> None:
        """Relay new connections again."""
        self.up.set()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._sockets.update((client, server))
            threading.Thread(target=self._relay, args=(client, server), daemon=True).start()

    def _relay(self, client: socket.socket, server: socket.socket) -> None:
        peers = {client: server, server: client}
        with selectors.DefaultSelector() as selector:
            for sock in peers:  # blocking sockets: recv after select, sendall waits for room
                selector.register(sock, selectors.EVENT_READ)
            try:
                while True:
                    for key, _ in selector.select(timeout=1.0):
                        data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                        if not data:
                            return
                        peers[key.fileobj].sendall(data)  # type: ignore[index]
            except OSError:
                return
            finally:
                for sock in peers:
                    _reset(sock)
                with self._lock:
                    self._sockets.difference_update(peers)


def _reset(sock: socket.socket) -> None:
    """Close with RST: the peer sees a broken link, not an orderly goodbye."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()
