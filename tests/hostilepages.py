"""A news site on 127.0.0.1 whose article pages attack the store, for the storage crawl tests.

``HostilePages`` serves a feed (``/feed.xml``) linking ``feed_paths``, a robots.txt, and
behind the links healthy articles and hostile ones: JSON-LD holding a lone surrogate or a
NUL, a page declaring a 3,000-character canonical URL, a page whose own address is over
2,048 characters, an empty body. Every page's ``<link rel=canonical>`` is its path
without the query, so feed links ending in ``?cmp=rss`` are the common case of a feed
link that differs from the canonical URL. ``hits`` counts requests by path. The
standard library's ``http.server`` does it all (the same style as ``faultserver``).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Compared with "now" by the crawl (max_age): relative to now, never a fixed date.
PUBLISHED = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
LONG_PATH = "/news/long-" + "x" * 2_040 + ".html"  # with the host: under Scrapy's 2,083, over 2,048
# path -> the failure reason the crawl must record
HOSTILE = {
    "/news/surrogate.html": None,  # stored, the surrogate replaced
    "/news/nul.html": None,  # stored, the NUL removed
    "/news/long-canonical.html": None,  # stored under its own address
    LONG_PATH: "url-too-long",
    "/news/empty.html": "empty-body",
    "/news/stub.html": "empty-body",
}
PARAGRAPH = (
    "{title}: the carmaker said on Tuesday that paragraph {n} of this report explains its plans "
    "for electric vans, new plants in Europe and the software it buys from suppliers."
)


def healthy_page(base: str, path: str, title: str) -> str:
    """A real-looking article with a canonical link to ``path`` (without any query)."""
    paragraphs = "".join(f"<p>{PARAGRAPH.format(title=title, n=n)}</p>" for n in range(5))
    return _page(base + path.split("?", 1)[0], title, f"<h1>{title}</h1>{paragraphs}")


def _page(canonical: str | None, title: str, article: str, head: str = "") -> str:
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    title_tag = f"<title>{title} | Hostile News</title>" if title else ""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{title_tag}'
        f'{link}<meta property="article:published_time" content="{PUBLISHED:%Y-%m-%dT%H:%M:%SZ}">{head}'
        f"</head><body><article>{article}</article><footer>(c) Hostile News</footer></body></html>"
    )


def _json_ld(data: dict[str, Any]) -> str:
    # ensure_ascii keeps a lone surrogate as the escape "\ud800" that a real page would carry.
    return f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=True)}</script>'


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``HostilePages.hits``."""

    def do_GET(self) -> None:
        site = self.server.site
        path = self.path.split("?", 1)[0]
        with site.lock:
            site.requests[path] += 1
        base = site.url
        if path == "/robots.txt":
            self._send(200, "User-agent: *\nAllow: /\n", "text/plain")
        elif path == "/feed.xml":
            self._send(200, self._feed(), "application/rss+xml")
        elif path == "/news/surrogate.html":
            text = PARAGRAPH.format(title="Renault", n=1) * 3
            ld = _json_ld({"@type": "NewsArticle", "headline": "\ud800 Renault and Daimler team up"})
            self._send(200, _page(base + path, "", f"<p>{text}</p>", ld), "text/html; charset=utf-8")
        elif path == "/news/nul.html":
            body = (PARAGRAPH.format(title="Nissan", n=1) + "\u0000 ") * 3
            ld = _json_ld({"@type": "NewsArticle", "headline": "Nissan\u0000 vans", "articleBody": body})
            self._send(200, _page(base + path, "", "<p>See above.</p>", ld), "text/html; charset=utf-8")
        elif path == "/news/long-canonical.html":
            canonical = base + "/news/long-canonical-" + "y" * 3_000 + ".html"
            self._send(
                200, healthy_page(base, path, "Long canonical").replace(base + path, canonical), "text/html"
            )
        elif path == LONG_PATH:
            self._send(200, healthy_page(base, path, "Long address"), "text/html; charset=utf-8")
        elif path == "/news/empty.html":
            self._send(200, _page(base + path, "Empty", "<h1>Empty</h1>"), "text/html; charset=utf-8")
        elif path == "/news/stub.html":
            stub = "<h1>Renault news</h1><p>Please enable JavaScript to read this article.</p>"
            self._send(200, _page(base + path, "Renault news", stub), "text/html; charset=utf-8")
        elif path.startswith("/go/"):  # a feed link that redirects, as feed proxies do
            target = f"{base}/news/{path.removeprefix('/go/')}.html?cmp=rss"
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path.startswith("/news/ok-"):
            title = f"Healthy article {path.removeprefix('/news/ok-').removesuffix('.html')}"
            self._send(200, healthy_page(base, path, title), "text/html; charset=utf-8")
        else:
            self._send(404, "not found", "text/plain")

    def _feed(self) -> str:
        site = self.server.site
        items = "".join(
            f"<item><title>Item {n}</title><link>{site.url}{path}</link>"
            f"<pubDate>{PUBLISHED:%a, %d %b %Y %H:%M:%S} GMT</pubDate></item>"
            for n, path in enumerate(site.feed_paths)
        )
        return (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Hostile</title>{items}</channel></rss>'
        )

    def _send(self, status: int, text: str, ctype: str) -> None:
        body = text.encode("utf-8", "surrogatepass")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: HostilePages


class HostilePages:
    """The hostile site, served from a thread on 127.0.0.1 on a free port."""

    def __init__(self) -> None:
        self.feed_paths: list[str] = []
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.site = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def hits(self, path: str) -> int:
        """How many requests ``path`` received (any query)."""
        with self.lock:
            return self.requests[path]

    def article_hits(self) -> int:
        """How many article pages were requested, all paths together."""
        with self.lock:
            return sum(count for path, count in self.requests.items() if path.startswith("/news/"))

    def __enter__(self) -> HostilePages:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
