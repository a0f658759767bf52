"""Find a site's feeds and sitemaps, for ``monitor sources discover URL``.

Three places are looked at, as a person would: the page's ``<link rel="alternate">``
feeds (lxml), the ``Sitemap:`` lines of robots.txt (Protego, Scrapy's robots.txt parser),
and the paths where sites usually put them (``/feed``, ``/rss.xml``, ``/sitemap.xml``,
``/news-sitemap.xml``...). Every candidate is fetched and read with ``monitor.crawl.feeds`` (the
same DTD-free readers the crawler uses), so only what really is a feed or a sitemap is
reported, with what it holds.

Fetching is the standard library's ``urllib``, kept to the crawler's rules: the given
User-Agent, robots.txt obeyed for the probes, a timeout, a size cap, http/https only, and
no private, loopback or link-local address on any redirect hop (``monitor.crawl.safety``) unless
``allow_private``. Each hop's host is resolved once and the connection goes to the address
that was checked (``GuardedFetcher``), so DNS rebinding cannot swap it in between.
"""

from __future__ import annotations

import functools
import gzip
import http.client
import io
import re
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml import html as lxml_html
from protego import Protego

from monitor.crawl.feeds import Entry, read_feed, read_sitemap
from monitor.crawl.safety import address_refusal, refusal
from monitor.errors import MonitorError, ParseError

MAX_BYTES = 8 * 1024 * 1024
FEED_PATHS = ("/feed", "/feed/", "/rss", "/rss/", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml")
SITEMAP_PATHS = (
    "/news-sitemap.xml",
    "/sitemap-news.xml",
    "/sitemap_news.xml",
    "/news_sitemap.xml",
    "/sitemap_index.xml",
    "/sitemap.xml",
)
_TITLE = re.compile(rb"<title[^>]*>\s*(?:<!\[CDATA\[)?(.{1,120}?)(?:\]\]>)?\s*</title>", re.DOTALL)
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/rdf+xml")


class DiscoverError(MonitorError):
    """Raised by ``discover`` when the site itself cannot be read."""


@dataclass(frozen=True, slots=True)
class Found:
    """A feed or sitemap the site offers, with what it holds and where it was found."""

    url: str
    kind: str  # feed or sitemap
    what: str  # "RSS/Atom feed", "news sitemap", "sitemap index"...
    entries: int
    newest: datetime | None
    via: str  # link rel=alternate, robots.txt, common path
    title: str | None = None


Fetch = Callable[[str], tuple[str, bytes]]


def discover(url: str, fetch: Fetch, agent: str = "monitor") -> list[Found]:
    """Every feed and sitemap of the site at ``url``; ``DiscoverError`` if its page cannot be read.

    ``agent`` is the robots.txt user-agent token the probes of common paths must be allowed for.
    """
    try:
        final, page = fetch(url)
    except OSError as exc:
        raise DiscoverError(f"cannot read {url}: {exc}") from None
    root = f"{urlsplit(final).scheme}://{urlsplit(final).netloc}"
    candidates: dict[str, str] = {}
    for link in alternate_links(page, final):
        candidates.setdefault(link, "link rel=alternate")
    robots = _robots(fetch, root)
    for sitemap in robots.sitemaps if robots is not None else ():
        candidates.setdefault(sitemap, "robots.txt")
    for path in FEED_PATHS + SITEMAP_PATHS:
        probe = root + path
        if robots is None or robots.can_fetch(probe, agent):
            candidates.setdefault(probe, "common path")
    found: list[Found] = []
    seen: set[str] = set()
    for candidate, via in candidates.items():
        try:
            final_url, body = fetch(candidate)
        except OSError:
            continue
        result = identify(final_url, body, via)
        if result is not None and result.url not in seen:
            seen.add(result.url)
            found.append(result)
    return found


def alternate_links(page: bytes, base: str) -> list[str]:
    """The feed URLs an HTML page announces with ``<link rel="alternate" type="...">``."""
    try:
        tree = lxml_html.document_fromstring(page)
    except (ValueError, etree.ParserError):
        return []
    links = []
    for element in tree.iter("link"):
        rel = (element.get("rel") or "").lower().split()
        kind = (element.get("type") or "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in _FEED_TYPES and element.get("href"):
            links.append(urljoin(base, element.get("href").strip()))
    return links


def identify(url: str, body: bytes, via: str) -> Found | None:
    """What ``body`` is: a feed, a (news) sitemap, a sitemap index, or None for anything else."""
    if body[:2] == b"\x1f\x8b":
        try:
            body = gzip.GzipFile(fileobj=io.BytesIO(body)).read(MAX_BYTES)
        except (OSError, EOFError):
            return None
    head = body[:2048].lower()
    try:
        if b"<urlset" in head or b"<sitemapindex" in head:
            document = read_sitemap(body)
            news = b"sitemap-news" in body[:4096] or b"news:publication_date" in body[:200_000]
            what = "news sitemap" if news else "sitemap"
            if document.kind == "sitemapindex":
                what = "sitemap index"
            return Found(url, "sitemap", what, len(document.entries), _newest(document.entries), via)
        if b"<rss" in head or b"<feed" in head or b"<rdf" in head:
            entries = read_feed(body, url)
            if not entries:
                return None
            title = _feed_title(body)
            return Found(url, "feed", "RSS/Atom feed", len(entries), _newest(entries), via, title)
    except ParseError:
        return None
    return None


def to_yaml(site: str, found: list[Found], allow_private: bool = False) -> str:
    """The found feeds and sitemaps as monitor.yaml ``sources:`` entries, ready to paste."""
    base = _base_name(site)
    lines = [f"# Feeds and sitemaps of {site}, found by `monitor sources discover`.", "sources:"]
    names: set[str] = set()
    for item in found:
        stem = f"{base}-{'feed' if item.kind == 'feed' else item.what.split()[0] + '-sitemap'}"
        stem = stem.replace("sitemap-sitemap", "sitemap").replace("index-sitemap", "sitemap-index")
        name, number = stem, 2
        while name in names:
            name, number = f"{stem}-{number}", number + 1
        names.add(name)
        newest = f", newest {item.newest:%Y-%m-%d}" if item.newest else ""
        title = f' "{item.title}",' if item.title else ""
        lines.append(f"  - name: {name}  # {item.what},{title} {item.entries} entries{newest} ({item.via})")
        lines.append(f"    kind: {item.kind}")
        lines.append(f"    url: {item.url}")
        if allow_private:
            lines.append("    allow_private: true")
    if not found:
        lines.append("  []  # nothing found: try the site's section pages as `kind: listing`")
    return "\n".join(lines) + "\n"


Resolve = Callable[..., list[tuple[Any, ...]]]  # socket.getaddrinfo
Connect = Callable[..., socket.socket]  # socket.create_connection


class GuardedFetcher:
    """``urllib`` with the crawler's rules: User-Agent, timeout, size cap, the address guard on every hop.

    Each hop's host is resolved once (``resolve``, ``socket.getaddrinfo`` by default), every
    address is checked, and the connection goes to exactly those addresses (``connect``):
    resolving again to connect, as urllib does, let a name answer a public address to the
    check and 127.0.0.1 to the connection (DNS rebinding). The name stays in the Host
    header and in TLS (SNI, certificate check). Proxies from the environment are not used:
    through a proxy, the proxy would resolve the name and the check would mean nothing.
    """

    def __init__(
        self,
        user_agent: str,
        *,
        allow_private: bool = False,
        timeout: float = 15.0,
        resolve: Resolve = socket.getaddrinfo,
        connect: Connect = socket.create_connection,
    ) -> None:
        self.user_agent = user_agent
        self.allow_private = allow_private
        self.timeout = timeout
        self.resolve = resolve
        self.connect = connect
        self.tls = ssl.create_default_context()
        self.tls.set_alpn_protocols(["http/1.1"])
        fetcher = self

        class _Redirects(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any) -> Any:  # (req, fp, code, msg, headers, newurl)
                reason = refusal(args[-1], fetcher.allow_private)  # the address: when connecting
                if reason is not None:
                    raise urllib.error.URLError(reason)
                return super().redirect_request(*args)

        class _HTTP(urllib.request.HTTPHandler):
            def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
                return self.do_open(functools.partial(fetcher.connection, https=False), req)

        class _HTTPS(urllib.request.HTTPSHandler):
            def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
                return self.do_open(functools.partial(fetcher.connection, https=True), req)

        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), _HTTP(), _HTTPS(), _Redirects()
        )

    def addresses(self, host: str, port: int | None = None) -> list[str]:
        """The addresses of ``host``, resolved once; ``URLError`` if one is refused (allow_private off)."""
        try:
            infos = self.resolve(host.strip("[]"), port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise urllib.error.URLError(f"cannot resolve {host}: {exc}") from None
        found = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not found:
            raise urllib.error.URLError(f"cannot resolve {host}: no address")
        if not self.allow_private:
            reason = next((r for address in found if (r := address_refusal(host, address))), None)
            if reason is not None:
                raise urllib.error.URLError(reason)
        return found

    def check(self, url: str) -> None:
        """Raise ``urllib.error.URLError`` for a URL the crawler would refuse."""
        reason = refusal(url, self.allow_private)
        if reason is not None:
            raise urllib.error.URLError(reason)
        if not self.allow_private:
            self.addresses(urlsplit(url).hostname or "")

    def connection(self, host: str, *, https: bool, **options: Any) -> http.client.HTTPConnection:
        """An http.client connection to ``host`` ("name:port") pinned to its checked addresses.

        urllib calls this for every hop, redirects included (``do_open``'s ``http_class``).
        """
        cls = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
        connection = cls(host, **options)
        addresses = self.addresses(connection.host, connection.port)
        connection.pin(addresses, self.connect, self.tls)
        return connection

    def __call__(self, url: str) -> tuple[str, bytes]:
        """The final URL and the body (at most ``MAX_BYTES``); ``OSError`` on any failure."""
        reason = refusal(url, self.allow_private)
        if reason is not None:
            raise urllib.error.URLError(reason)
        request = urllib.request.Request(url, headers={"User-Agent": self.user_agent})
        with self.opener.open(request, timeout=self.timeout) as response:
            return response.geturl(), response.read(MAX_BYTES)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An ``HTTPConnection`` that connects to addresses checked beforehand, not to its host's."""

    addresses: list[str]
    opener: Connect
    tls: ssl.SSLContext

    def pin(self, addresses: list[str], opener: Connect, tls: ssl.SSLContext) -> None:
        """Connect to ``addresses`` (in turn, like ``socket.create_connection``) with ``opener``."""
        self.addresses, self.opener, self.tls = addresses, opener, tls

    def connect(self) -> None:
        """Open the socket to the first checked address that answers."""
        self.sock = self._open()

    def _open(self) -> socket.socket:
        error: OSError | None = None
        source = getattr(self, "source_address", None)  # set by HTTPConnection, not in its stubs
        for address in self.addresses:
            try:
                return self.opener((address, self.port), self.timeout, source)
            except OSError as exc:
                error = exc
        raise error or OSError(f"no address for {self.host}")


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """The same for https: TLS with the host's name (SNI, certificate) over the pinned socket."""

    default_port = http.client.HTTPS_PORT

    def connect(self) -> None:
        """Open the socket to a checked address, then TLS for the host's name."""
        self.sock = self.tls.wrap_socket(self._open(), server_hostname=self.host)


def _robots(fetch: Fetch, root: str) -> Protego | None:
    try:
        _, body = fetch(root + "/robots.txt")
    except OSError:
        return None
    return Protego.parse(body.decode("utf-8", "replace"))


def _newest(entries: tuple[Entry, ...] | list[Entry]) -> datetime | None:
    dates = [entry.date for entry in entries if entry.date is not None]
    return max(dates) if dates else None


def _feed_title(body: bytes) -> str | None:
    match = _TITLE.search(body[:20000])
    return (match.group(1).decode("utf-8", "replace").strip() or None) if match else None


def _base_name(site: str) -> str:
    host = (urlsplit(site).hostname or "site").lower()
    parts = [part for part in host.split(".") if part not in ("www", "m", "rss", "feeds")]
    if len(parts) > 1:
        parts = parts[:-1]
    name = re.sub(r"[^a-z0-9]+", "-", "-".join(parts)).strip("-")
    return name or "site"
