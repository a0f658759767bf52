"""A fault-injecting news site on 127.0.0.1, for the crawl tests: every way a real site misbehaves.

``FaultServer`` serves a feed (with ETag/Last-Modified), a sitemap index and a robots.txt,
and behind the feed's links: healthy articles, and articles that are slow, hang, answer 5xx,
reset the connection, stop half-way, are gzip bombs, loop in redirects, lie about their
charset, are huge, are disallowed by robots.txt, or ask to come back in an hour (or in
31,000 years). Each path's expected outcome is in ``HEALTHY`` and ``FAULTS``. Beside the
feed, documents too big to read whole: a sitemap index of 10,000 children, a feed of
150,000 items and a listing of 370,000 links (``HUGE_*``), each generated once per server,
whose few healthy entries are the newest (or first) ones. ``robots`` switches robots.txt to a 503,
a hang or a 404; ``requests`` records every request with its time and conditional headers.
The standard library's ``http.server`` does it all, so a fault is a few lines of plain HTTP.
"""

from __future__ import annotations

import gzip
import socket
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ETAG = '"feed-v1"'
# Every date the crawl compares with "now" is relative to now: a fixed date makes a test
# that passes today fail next week (a `max_age: 2d` filter did exactly that).
PUBLISHED = (datetime.now(UTC) - timedelta(hours=6)).replace(minute=0, second=0, microsecond=0)
LAST_MODIFIED = format_datetime(PUBLISHED, usegmt=True)
BOMB_SIZE = 64 * 1024 * 1024  # decompressed; about 64 KB on the wire
SLOW_SECONDS = 1.0
HUGE_INDEX = 10_000  # child sitemaps of /huge-index.xml; only /sitemap-new.xml.gz is real (and newest)
HUGE_FEED = 150_000  # items of /huge-feed.xml; the newest three are the ok-N pages
HUGE_LISTING = 370_000  # links of /huge-listing.html; the first three are the ok-N pages
RETRY_HUGE = "999999999999"  # seconds: now + this overflows datetime
RETRY_YEARS = "99999999"  # seconds: about three years
OK_PAGES = ("/news/ok-1.html", "/news/ok-2.html", "/news/ok-3.html")

# path -> why it is healthy (it must be stored)
HEALTHY = {
    "/news/ok-1.html": "plain",
    "/news/ok-2.html": "plain",
    "/news/ok-3.html": "plain",
    "/news/slow.html": f"answers after {SLOW_SECONDS} s, within the page timeout",
    "/news/flaky.html": "503 with Retry-After: 1 once, then the page",
    "/news/latin1.html": "says UTF-8 in its header but is Latin-1",
}
# path -> the failure reason the crawl must record
FAULTS = {
    "/news/hang.html": "timeout",
    "/news/error.html": "http-500",
    "/news/reset.html": "connection",
    "/news/truncated.html": "truncated",
    "/news/bomb.html": "too-large",
    "/news/loop.html": "redirect-loop",
    "/news/huge.html": "too-large",
    "/private/secret.html": "robots",
    "/news/later.html": "retry-after",
}


@dataclass(frozen=True, slots=True)
class Hit:
    """One request the server received."""

    path: str
    at: float
    if_none_match: str | None
    if_modified_since: str | None
    user_agent: str | None


def article(path: str, title: str, charset: str = "utf-8") -> str:
    """A small but real-looking article page."""
    paragraphs = "".join(
        f"<p>{title}: the carmaker said on Tuesday that paragraph {n} of this report explains "
        "its plans for electric vans, new plants in Europe and the software it buys.</p>"
        for n in range(6)
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="{charset}"><title>{title} | Fault News</title>'
        f'<link rel="canonical" href="{{base}}{path}"><meta property="og:title" content="{title}">'
        f'<meta property="article:published_time" content="{PUBLISHED:%Y-%m-%dT%H:%M:%SZ}"></head><body>'
        f'<nav><a href="/">Home</a> <a href="/news/">News</a></nav><article><h1>{title}</h1>'
        f'<p class="byline">By Ann Example</p>{paragraphs}</article>'
        "<footer>(c) Fault News</footer></body></html>"
    )


def _gzip_bomb() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip container
    chunk = b"\0" * (1024 * 1024)
    parts = [compressor.compress(chunk) for _ in range(BOMB_SIZE // len(chunk))]
    return b"".join(parts) + compressor.flush()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``FaultServer.requests``."""

    def do_GET(self) -> None:
        site = self.server.site
        path = self.path.split("?", 1)[0]
        site.record(
            Hit(
                path,
                time.monotonic(),
                self.headers.get("If-None-Match"),
                self.headers.get("If-Modified-Since"),
                self.headers.get("User-Agent"),
            )
        )
        # paths use '-', method names '_': a path with '_' in it is not on this site
        handler = getattr(
            self, "_" + path.strip("/").replace("/", "_").replace(".", "_").replace("-", "_"), None
        )
        if handler is None or "_" in path:
            self._send(404, b"not found", "text/plain")
        else:
            handler()

    # -- plumbing ---------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _page(self, path: str, title: str) -> None:
        body = article(path, title).replace("{base}", self.server.site.url).encode("utf-8")
        self._send(200, body, "text/html; charset=utf-8")

    def _hang(self) -> None:
        self.server.site.stopping.wait(120)
        self.close_connection = True

    # -- the site ---------------------------------------------------------------------------
    def _robots_txt(self) -> None:
        mode = self.server.site.robots
        if mode == "503":
            self._send(503, b"busy", "text/plain")
        elif mode == "404":
            self._send(404, b"none", "text/plain")
        elif mode == "hang":
            self._hang()
        else:
            sitemap = f"Sitemap: {self.server.site.url}/sitemap-index.xml\n".encode()
            self._send(200, b"User-agent: *\nDisallow: /private/\n" + sitemap, "text/plain")

    def _(self) -> None:  # the home page: "/"
        body = (
            "<!DOCTYPE html><html><head><title>Fault News</title>"
            '<link rel="alternate" type="application/rss+xml" title="Fault News" href="/feed.xml">'
            '<link rel="alternate" type="application/atom+xml" href="/bomb-feed.xml">'
            '<link rel="stylesheet" href="/style.css"></head><body><h1>Fault News</h1></body></html>'
        )
        self._send(200, body.encode(), "text/html; charset=utf-8")

    def _feed_xml(self) -> None:
        if (
            self.headers.get("If-None-Match") == ETAG
            or self.headers.get("If-Modified-Since") == LAST_MODIFIED
        ):
            self.send_response(304)
            self.send_header("ETag", ETAG)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        paths = self.server.site.feed_paths
        items = "".join(
            f"<item><title>Item {n}</title><link>{self.server.site.url}{path}</link>"
            f"<pubDate>{format_datetime(PUBLISHED - timedelta(hours=n % 8), usegmt=True)}</pubDate></item>"
            for n, path in enumerate(paths)
        )
        channel = f"<channel><title>Fault News</title>{items}</channel>"
        body = f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'
        self._send(200, body.encode(), "application/rss+xml", {"ETag": ETAG, "Last-Modified": LAST_MODIFIED})

    def _bomb_feed_xml(self) -> None:
        entities = '<!ENTITY lol0 "lol">' + "".join(
            f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
        )
        link = f"{self.server.site.url}/news/ok-1.html"
        body = (
            f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]><rss version="2.0"><channel>'
            f"<item><title>&lol9;</title><link>{link}</link></item></channel></rss>"
        )
        self._send(200, body.encode(), "application/rss+xml")

    def _sitemap_index_xml(self) -> None:
        base = self.server.site.url
        body = (
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{base}/sitemap-new.xml.gz</loc><lastmod>2099-01-01T00:00:00Z</lastmod></sitemap>"
            f"<sitemap><loc>{base}/sitemap-old.xml</loc><lastmod>2001-01-01</lastmod></sitemap>"
            "</sitemapindex>"
        )
        self._send(200, body.encode(), "application/xml")

    def _sitemap_new_xml_gz(self) -> None:
        base = self.server.site.url
        body = (
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
            f"<url><loc>{base}/news/ok-1.html</loc><news:news><news:publication_date>{PUBLISHED:%Y-%m-%dT%H:%M:%SZ}"
            "</news:publication_date><news:title>One</news:title></news:news></url>"
            f"<url><loc>{base}/news/ok-2.html</loc><lastmod>2001-01-01</lastmod></url>"
            "</urlset>"
        )
        self._send(200, gzip.compress(body.encode()), "application/x-gzip")

    def _sitemap_old_xml(self) -> None:
        base = self.server.site.url
        body = (
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{base}/news/ok-3.html</loc><lastmod>2001-01-01</lastmod></url></urlset>"
        )
        self._send(200, body.encode(), "application/xml")

    def _news_ok_1_html(self) -> None:
        self._page("/news/ok-1.html", "Volkswagen opens a battery plant")

    def _news_ok_2_html(self) -> None:
        self._page("/news/ok-2.html", "Renault cuts prices of its vans")

    def _news_ok_3_html(self) -> None:
        self._page("/news/ok-3.html", "Toyota recalls hybrids")

    def _news_slow_html(self) -> None:
        time.sleep(SLOW_SECONDS)
        self._page("/news/slow.html", "Slow but fine: Stellantis hires")

    def _news_flaky_html(self) -> None:
        if self.server.site.count("/news/flaky.html") == 1:
            self._send(503, b"busy", "text/plain", {"Retry-After": "1"})
        else:
            self._page("/news/flaky.html", "Flaky but fine: BMW sells more")

    def _news_latin1_html(self) -> None:
        body = (
            article(
                "/news/latin1.html", "Citroën présente sa nouvelle voiture électrique", charset="iso-8859-1"
            )
            .replace("{base}", self.server.site.url)
            .encode("latin-1")
        )
        self._send(200, body, "text/html; charset=utf-8")  # the header lies

    def _news_hang_html(self) -> None:
        self._hang()

    def _news_error_html(self) -> None:
        self._send(500, b"internal error", "text/plain")

    def _news_reset_html(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()  # RST instead of FIN
        self.close_connection = True

    def _news_truncated_html(self) -> None:
        body = article("/news/truncated.html", "Truncated").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body) * 4))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def _news_bomb_html(self) -> None:
        self._send(200, self.server.site.bomb, "text/html; charset=utf-8", {"Content-Encoding": "gzip"})

    def _news_loop_html(self) -> None:
        self._send(302, b"", "text/plain", {"Location": f"{self.server.site.url}/news/loop-2.html"})

    def _news_loop_2_html(self) -> None:
        self._send(302, b"", "text/plain", {"Location": f"{self.server.site.url}/news/loop.html"})

    def _news_huge_html(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Connection", "close")  # no Content-Length: only the bytes tell
        self.end_headers()
        chunk = b"<p>" + b"huge " * 2000 + b"</p>\n"
        try:
            for _ in range(4000):  # about 40 MB
                self.wfile.write(chunk)
        except OSError:
            pass  # the crawler hung up, as it should
        self.close_connection = True

    def _private_secret_html(self) -> None:
        self._page("/private/secret.html", "Disallowed")

    def _news_later_html(self) -> None:
        self._send(429, b"slow down", "text/plain", {"Retry-After": "3600"})

    def _news_retry_huge_html(self) -> None:
        self._send(429, b"slow down", "text/plain", {"Retry-After": RETRY_HUGE})

    def _news_retry_years_html(self) -> None:
        self._send(503, b"closed", "text/plain", {"Retry-After": RETRY_YEARS})

    def _huge_index_xml(self) -> None:
        self._send(200, self.server.site.generated("index", _huge_index), "application/xml")

    def _huge_feed_xml(self) -> None:
        self._send(200, self.server.site.generated("feed", _huge_feed), "application/rss+xml")

    def _huge_listing_html(self) -> None:
        self._send(200, self.server.site.generated("listing", _huge_listing), "text/html; charset=utf-8")

    def _evil_listing_html(self) -> None:
        links = "".join(f'<a href="{path}">{path}</a>' for path in OK_PAGES)
        evil = '<a href="/news/' + "a" * 40 + '!">backtracking bait for (a+)+$</a>'
        self._send(200, f"<html><body>{evil}{links}</body></html>".encode(), "text/html; charset=utf-8")


def _huge_index(base: str) -> bytes:
    """10,000 stale child sitemaps (404s), the one real and newest one last in the document."""
    stale = "".join(
        f"<sitemap><loc>{base}/gone-{n}.xml</loc><lastmod>{PUBLISHED - timedelta(days=30 + n % 900):%Y-%m-%d}"
        "</lastmod></sitemap>"
        for n in range(HUGE_INDEX - 1)
    )
    real = (
        f"<sitemap><loc>{base}/sitemap-new.xml.gz</loc>"
        f"<lastmod>{PUBLISHED:%Y-%m-%dT%H:%M:%SZ}</lastmod></sitemap>"
    )
    return (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{stale}{real}</sitemapindex>"
    ).encode()


def _huge_feed(base: str) -> bytes:
    """150,000 undated items (404s) in about 8 MB, then the three ok-N pages, dated."""
    old = "".join(f"<item><link>{base}/o{n}</link></item>" for n in range(HUGE_FEED - len(OK_PAGES)))
    new = "".join(
        f"<item><title>New {n}</title><link>{base}{path}</link>"
        f"<pubDate>{format_datetime(PUBLISHED - timedelta(minutes=n), usegmt=True)}</pubDate></item>"
        for n, path in enumerate(OK_PAGES)
    )
    channel = f"<channel><title>Huge</title>{old}{new}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def _huge_listing(base: str) -> bytes:
    """The three ok-N pages first, as a section page lists its newest, then 370,000 more links."""
    first = "".join(f'<li><a href="{path}">Top story {n}</a></li>' for n, path in enumerate(OK_PAGES))
    rest = "".join(f"<a href=/o{n}>s</a>" for n in range(HUGE_LISTING - len(OK_PAGES)))  # about 7 MB
    return f"<html><head><title>News</title></head><body><ul>{first}{rest}</ul></body></html>".encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: FaultServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (and our own resets) are part of the game."""


class FaultServer:
    """The fault site on 127.0.0.1, any free port, in a daemon thread."""

    def __init__(self, robots: str = "ok") -> None:
        self.robots = robots
        self.url = ""
        self.requests: list[Hit] = []
        self.feed_paths = list(HEALTHY) + list(FAULTS)
        self.bomb = _gzip_bomb()
        self._generated: dict[str, bytes] = {}
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd: _Server | None = None

    def record(self, hit: Hit) -> None:
        with self._lock:
            self.requests.append(hit)

    def generated(self, name: str, build: Any) -> bytes:
        """A big document built on first request and kept (``build(base_url)`` makes it)."""
        with self._lock:
            if name not in self._generated:
                self._generated[name] = build(self.url)
            return self._generated[name]

    def count(self, path: str) -> int:
        """How many times ``path`` was requested so far."""
        with self._lock:
            return sum(hit.path == path for hit in self.requests)

    def hits(self, path: str) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.requests if hit.path == path]

    def start(self) -> FaultServer:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.site = self
        self._httpd = httpd
        self.url = f"http://127.0.0.1:{httpd.server_port}"
        threading.Thread(target=httpd.serve_forever, name="fault-site", daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
