"""Feeds and sitemaps from untrusted bytes: refuse DTDs, then read each entry's URL and dates.

A feed or a sitemap has no use for a DTD, and a DTD is where XML bombs ("billion laughs")
and external entities (``<!ENTITY x SYSTEM "file:///etc/passwd">``) live. So before any
parser sees the bytes, ``check_xml`` refuses a document whose prolog declares an internal
subset or any ``<!ENTITY``, and strips a bare external DOCTYPE (old RSS 0.91 feeds carry
Netscape's) so no parser is tempted to fetch it. Then:

- feeds are read by feedparser from the bytes (never from a URL: feedparser would fetch
  it itself, past Scrapy's politeness and our address guard). feedparser's author e-mail
  regex is quadratic on long author strings (an open feedparser issue); author values are
  cut to 512 characters before it runs, since monitor reads authors from the article page;
- sitemaps, news sitemaps and sitemap indexes are read by lxml with entity resolution,
  network access and huge trees off, keeping ``lastmod`` and the news extension's
  ``news:publication_date`` and ``news:title``. Plain-text sitemaps (one URL a line) too.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser
from feedparser.mixin import _FeedParserMixin
from lxml import etree

from monitor.errors import ParseError

MAX_AUTHOR = 512
_BOMS = (b"\xef\xbb\xbf",)
_WIDE_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\xff\xfe", b"\xfe\xff")
_PROLOG_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
_DOCTYPE = re.compile(rb"<!DOCTYPE\b", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY\b", re.IGNORECASE)
_WIDE_DTD = re.compile(r"<!(?:DOCTYPE|ENTITY)\b", re.IGNORECASE)
_SITEMAP_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    huge_tree=False,
    load_dtd=False,
    recover=True,
    remove_comments=True,
    remove_pis=True,
)


class UnsafeXMLError(ParseError):
    """Raised by ``check_xml`` for a feed or sitemap that declares a DTD subset or entities."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One article (or child sitemap) a feed or sitemap points to, with what it says of it."""

    url: str
    title: str | None = None
    published: datetime | None = None
    modified: datetime | None = None

    @property
    def date(self) -> datetime | None:
        """The newest date known for the entry."""
        dates = [value for value in (self.published, self.modified) if value is not None]
        return max(dates) if dates else None


@dataclass(frozen=True, slots=True)
class SitemapDocument:
    """A parsed sitemap: ``urlset`` (pages) or ``sitemapindex`` (child sitemaps)."""

    kind: str
    entries: tuple[Entry, ...]


def check_xml(body: bytes) -> bytes:
    """``body`` without a bare external DOCTYPE; ``UnsafeXMLError`` for DTD subsets or entities."""
    head = body[:4]
    if any(head.startswith(bom) for bom in _WIDE_BOMS) or head[:2] in (b"\x00<", b"<\x00"):
        text = _decode_wide(body)
        if _WIDE_DTD.search(text):
            raise UnsafeXMLError("a DTD in a UTF-16/32 XML document: refused")
        return body
    if _ENTITY.search(body):
        raise UnsafeXMLError("XML entity declarations are refused (XML bomb or external entity)")
    position = len(_BOMS[0]) if body.startswith(_BOMS[0]) else 0
    while True:
        item = _PROLOG_ITEM.match(body, position)
        if item is not None and item.end() > position:
            position = item.end()
            continue
        if not _DOCTYPE.match(body, position):
            return body
        end = body.find(b">", position)
        subset = body.find(b"[", position)
        if end < 0 or 0 <= subset < end:
            raise UnsafeXMLError(
                "an XML DTD with an internal subset is refused (XML bomb or external entity)"
            )
        body = body[:position] + body[end + 1 :]


def read_feed(body: bytes, url: str) -> list[Entry]:
    """Entries of an RSS or Atom feed; ``UnsafeXMLError`` for a DTD with declarations."""
    parsed = feedparser.parse(check_xml(body), response_headers={"content-location": url})
    entries = []
    for item in parsed.entries:
        link = item.get("link") or (item.get("id") if str(item.get("id", "")).startswith("http") else None)
        if not link:
            continue
        entries.append(
            Entry(
                url=str(link),
                title=item.get("title") or None,
                # dict.get: feedparser's own get() maps a missing "updated" to "published", with a warning
                published=_struct_time(dict.get(item, "published_parsed")),
                modified=_struct_time(dict.get(item, "updated_parsed")),
            )
        )
    return entries


def read_sitemap(body: bytes) -> SitemapDocument:
    """Entries of a sitemap or sitemap index (XML or plain text); ``ParseError`` if it is neither."""
    if not body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        urls = [line.strip().decode("utf-8", "replace") for line in body.splitlines()]
        found = tuple(Entry(url) for url in urls if url.startswith(("http://", "https://")))
        if not found:
            raise ParseError("neither an XML sitemap nor a list of URLs")
        return SitemapDocument("urlset", found)
    try:
        root = etree.fromstring(check_xml(body), parser=_SITEMAP_PARSER)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"unreadable sitemap XML: {exc}") from None
    if root is None:
        raise ParseError("empty sitemap")
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise ParseError(f"not a sitemap: the root element is <{kind}>")
    return SitemapDocument(kind, tuple(entry for element in root if (entry := _sitemap_entry(element))))


def _sitemap_entry(element: Any) -> Entry | None:
    if not isinstance(element.tag, str):
        return None
    fields: dict[str, str] = {}
    for child in element.iter():
        if isinstance(child.tag, str) and child.text and child.text.strip():
            fields.setdefault(_local(child.tag), child.text.strip())
    loc = fields.get("loc")
    if not loc:
        return None
    return Entry(
        url=loc,
        title=fields.get("title"),
        published=parse_w3c_date(fields.get("publication_date")),
        modified=parse_w3c_date(fields.get("lastmod")),
    )


def parse_w3c_date(text: str | None) -> datetime | None:
    """A sitemap date (W3C datetime: ``2026-11-26``, ``2026-11-26T09:30:00+01:00``) in UTC."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _struct_time(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _decode_wide(body: bytes) -> str:
    for encoding in ("utf-32", "utf-16"):
        try:
            return body.decode(encoding)
        except UnicodeDecodeError:
            continue
    return body.decode("utf-16-le" if body[1:2] == b"\x00" else "utf-16-be", "replace")


def _bounded_author(self: Any, key: str = "author") -> None:
    """feedparser's ``_sync_author_detail`` on an author value cut to ``MAX_AUTHOR`` characters."""
    context = self._get_context()
    value = context.get(key)
    if isinstance(value, str) and len(value) > MAX_AUTHOR:
        context[key] = value[:MAX_AUTHOR]
    _sync_author_detail(self, key)


_sync_author_detail = _FeedParserMixin._sync_author_detail
if getattr(_sync_author_detail, "__name__", "") != "_bounded_author":
    _FeedParserMixin._sync_author_detail = _bounded_author
