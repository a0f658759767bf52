"""Article links of a listing (section) page, streamed, picked by the source's RE2 patterns.

Scrapy's ``LinkExtractor`` parses the whole page into a tree, makes a ``Link`` of every
anchor and matches ``follow``/``deny`` with Python's ``re``: a page of 370,000 links took
1.2 GB, and a pattern like ``(a+)+$`` backtracks for minutes on one URL. Here lxml's
``HTMLPullParser`` reads the page in chunks and each element is freed once read, RE2
(``google-re2``, linear time whatever the pattern) matches the links, and only the first
``limit`` matching links are kept (a listing has no dates: page order is its order); past them
the page is not parsed further, its remaining ``<a``/``<area`` tags only counted (by a
byte search), so ``skipped`` is an upper bound of the links left out. The rest of
LinkExtractor's behaviour is kept: ``<a>`` and ``<area>`` ``href``, ``<base href>``, HTML5
whitespace stripped, ``safe_url_string``, http(s) only, Scrapy's ``IGNORED_EXTENSIONS``
(images, archives, office files) denied.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlparse

from lxml import etree
from scrapy.linkextractors import IGNORED_EXTENSIONS
from w3lib.html import strip_html5_whitespace
from w3lib.url import safe_url_string

from monitor.crawl.feeds import Entry

CHUNK = 64 * 1024
MAX_TITLE = 500
_LINK_TAGS = frozenset({"a", "area"})
_DENIED_EXTENSIONS = {f".{extension}" for extension in IGNORED_EXTENSIONS}
_SPACE = re.compile(r"\s+")
_LINK_TAG_BYTES = re.compile(rb"<(?:a|area)[\s>]", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Links:
    """The kept links of a listing page; ``skipped``: links past the limit, not read (at most this many)."""

    entries: tuple[Entry, ...]
    skipped: int = 0


def compile_patterns(patterns: Sequence[str]) -> list[Any]:
    """``patterns`` compiled by RE2 (``re2.error`` for one RE2 cannot take), errors not printed."""
    import re2

    options = re2.Options()
    options.log_errors = False
    return [re2.compile(pattern, options) for pattern in patterns]


class LinkFilter:
    """The source's ``follow`` and ``deny`` patterns (RE2), as Scrapy's LinkExtractor applies them."""

    def __init__(self, follow: Sequence[str], deny: Sequence[str]) -> None:
        self.follow = compile_patterns(follow)
        self.deny = compile_patterns(deny)

    def __call__(self, url: str) -> bool:
        """Whether the absolute ``url`` is an article link of the source."""
        parsed = urlparse(url)
        extension = posixpath.splitext(parsed.path)[1].lower()
        if parsed.scheme not in ("http", "https") or extension in _DENIED_EXTENSIONS:
            return False
        if self.follow and not any(pattern.search(url) for pattern in self.follow):
            return False
        return not any(pattern.search(url) for pattern in self.deny)


def extract_links(body: bytes, url: str, encoding: str, wanted: LinkFilter, limit: int | None) -> Links:
    """The first ``limit`` distinct links of the page that ``wanted`` accepts; see ``Links``."""
    kept: dict[str, Entry] = {}
    anchors = _Anchors(body, url, encoding)
    for href, text in anchors:
        if href in kept or not wanted(href):
            continue
        try:
            safe = safe_url_string(href, encoding=encoding)
        except ValueError:
            continue
        kept.setdefault(safe, Entry(safe, _SPACE.sub(" ", text).strip()[:MAX_TITLE] or None))
        if limit is not None and len(kept) >= limit:
            return Links(tuple(kept.values()), anchors.unread())
    return Links(tuple(kept.values()))


class _Anchors:
    """(absolute URL, text) of every ``<a href>`` and ``<area href>``, in page order.

    ``unread`` tells how many link tags are left once the caller stops early (an upper
    bound: the byte search also counts ``<a`` in comments and scripts).
    """

    def __init__(self, body: bytes, url: str, encoding: str) -> None:
        self.body, self.url, self.encoding = body, url, encoding
        try:
            self.parser = etree.HTMLPullParser(events=("start", "end"), encoding=encoding, no_network=True)
        except LookupError:  # a codec Python knows (Scrapy found it) but libxml2 does not
            self.body = body.decode(encoding, "replace").encode("utf-8")
            self.parser = etree.HTMLPullParser(events=("start", "end"), encoding="utf-8", no_network=True)
        self.offset = 0
        self.read = 0  # link start tags read so far

    def __iter__(self) -> Iterator[tuple[str, str]]:
        base = self.url
        seen_base = False
        inside = 0  # open <a>/<area> elements: their children are kept until the link is read
        for event, element in self._events():
            tag = element.tag if isinstance(element.tag, str) else ""
            if event == "start":
                inside += tag in _LINK_TAGS
                self.read += tag in _LINK_TAGS
                continue
            if tag == "base" and not seen_base and element.get("href"):
                seen_base = True
                base = _join(self.url, element.get("href")) or self.url
            if tag in _LINK_TAGS:
                inside -= 1
                href = element.get("href")
                absolute = _join(base, strip_html5_whitespace(href)) if href is not None else None
                if absolute is not None:
                    yield absolute, "".join(element.itertext())
            if not inside:
                _free(element)

    def _events(self) -> Iterator[tuple[str, Any]]:
        """The parser's events as the page is fed to it a chunk at a time, then its last ones."""
        while self.offset < len(self.body):
            self.parser.feed(self.body[self.offset : self.offset + CHUNK])
            self.offset += CHUNK
            yield from self.parser.read_events()
        try:
            self.parser.close()
        except etree.XMLSyntaxError:  # nothing parseable at all (an empty page)
            return
        yield from self.parser.read_events()

    def unread(self) -> int:
        """Link tags not read: those a byte search finds in the page, less those read."""
        return max(0, len(_LINK_TAG_BYTES.findall(self.body)) - self.read)


def _join(base: str, href: str) -> str | None:
    try:
        return urljoin(base, href)
    except ValueError:  # e.g. a malformed IPv6 host
        return None


def _free(element: Any) -> None:
    """Drop an element that was read, and the siblings read before it (lxml's streaming idiom)."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
