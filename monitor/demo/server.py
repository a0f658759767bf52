"""A tiny static file server for the demo site, on the standard library, for tests and demos."""

from __future__ import annotations

import functools
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from socket import socket
    from types import TracebackType

PLACEHOLDER = b"{{base}}"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
_FEEDS = frozenset({"feed.xml", "rss.xml"})


def site_root() -> Path:
    """Return the bundled demo site directory (``monitor/demo/site``)."""
    return Path(__file__).resolve().parent / "site"


def content_type(path: Path) -> str:
    """Return the Content-Type the server sends for ``path``."""
    if path.name in _FEEDS:
        return "application/rss+xml"
    return _TYPES.get(path.suffix.lower(), "application/octet-stream")


class _Handler(BaseHTTPRequestHandler):
    server_version = "MonitorDemo/1.0"

    def __init__(self, *args: Any, site: SiteServer, **kwargs: Any) -> None:
        self.site = site  # set before super().__init__, which handles the request
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self._serve(with_body=True)

    def do_HEAD(self) -> None:
        self._serve(with_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read ``SiteServer.requests`` instead of a log."""

    def _resolve(self, path: str) -> Path | None:
        """Map a URL path to a file or directory under the root; None if it escapes or is invalid."""
        if "\x00" in path or not path.startswith("/"):
            return None
        try:
            target = (self.site.root / path.lstrip("/")).resolve()
        except (OSError, RuntimeError):
            return None
        return target if target.is_relative_to(self.site.root) else None

    def _serve(self, *, with_body: bool) -> None:
        self.site._record(self.path)
        split = urlsplit(self.path)
        path = unquote(split.path)
        target = self._resolve(path)
        if target is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        if target.is_dir():
            if not path.endswith("/"):  # like any web server: /dir -> /dir/
                query = f"?{split.query}" if split.query else ""
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", f"{self.site.url}{split.path}/{query}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            target = target / "index.html"
        if not target.is_file():
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        ctype = content_type(target)
        data = target.read_bytes()
        if ctype != "application/octet-stream":  # every known type is text
            data = data.replace(PLACEHOLDER, self.site.url.encode())
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if with_body:
            self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: socket | tuple[bytes, socket], client_address: Any) -> None:
        """Ignore clients that hang up early; report anything else as usual."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class SiteServer:
    """Serve a directory on 127.0.0.1 in a daemon thread, replacing ``{{base}}`` by its own URL."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = root.resolve()
        self.host = host
        self.port = port
        self.url = ""
        self.requests: list[str] = []  # every request path (with query), in arrival order
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> SiteServer:
        """Bind, start serving and set ``url``; returns self."""
        if self._httpd is not None:
            raise RuntimeError("SiteServer already started")
        httpd = _Server((self.host, self.port), functools.partial(_Handler, site=self))
        self.port = httpd.server_port
        self.url = f"http://{self.host}:{self.port}"
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="demo-site", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def _record(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
