"""Feeds and sitemaps from untrusted bytes: refuse DTDs, then read each entry's URL and dates.

A feed or a sitemap has no use for a DTD, and a DTD is where XML bombs ("billion laughs")
and external entities (``<!ENTITY x SYSTEM "file:///etc/passwd">``) live. So before any
parser sees the bytes, ``check_xml`` finds the encoding as an XML parser would (byte-order
mark, first bytes, declaration: XML 1.0 appendix F), decodes UTF-16 and UTF-32 (handing the
parser UTF-8), refuses EBCDIC and other encodings that are not ASCII-compatible, then
refuses a prolog that declares an internal subset or any ``<!ENTITY``, and strips a bare
external DOCTYPE (old RSS 0.91 feeds carry Netscape's) so no parser is tempted to fetch it.
Only the prolog counts: ``<!ENTITY`` quoted in an item's CDATA is text. Then:

- feeds are read by feedparser from the bytes (never from a URL: feedparser would fetch
  it itself, past Scrapy's politeness and our address guard). feedparser's author e-mail
  regex is quadratic on long author strings (an open feedparser issue); author values are
  cut to 512 characters before it runs, since monitor reads authors from the article page;
- sitemaps, news sitemaps and sitemap indexes are streamed by lxml's ``iterparse`` with
  entity resolution, network access and huge trees off, keeping ``lastmod`` and the news
  extension's ``news:publication_date`` and ``news:title``. Plain-text sitemaps (one URL a
  line) too.

A ``limit`` keeps the newest entries of a document (``heapq.nlargest``; by date where
known, else document order) without holding the others: a feed of 150,000 items is
streamed by lxml and only the kept items reach feedparser, and each document says how
many entries it ``skipped``.
"""

from __future__ import annotations

import calendar
import codecs
import heapq
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser
from feedparser.mixin import _FeedParserMixin
from lxml import etree

from monitor.errors import ParseError, quoted

MAX_AUTHOR = 512
# XML 1.0 appendix F: byte-order marks (UTF-32 before UTF-16: FF FE 00 00 starts with FF FE) ...
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
# ... and without one, which of the first four bytes are zero ('<' or whitespace, then markup)
_NO_BOM = (
    ((True, True, True, False), "utf-32-be"),
    ((False, True, True, True), "utf-32-le"),
    ((True, False, True, False), "utf-16-be"),
    ((False, True, False, True), "utf-16-le"),
)
_EBCDIC = b"\x4c\x6f\xa7\x94"  # '<?xm' in EBCDIC
_ASCII_PROBE = "<?xml!DOCTYPE ENTITY[]>\"'="
_XML_SPACE = " \t\r\n"
_XML_DECLARATION = re.compile(r"\A\ufeff?<\?xml[ \t\r\n][^>]{0,200}?\?>")
_DECLARED_ENCODING = re.compile(r"""<\?xml[ \t\r\n][^>]{0,200}?\bencoding\s*=\s*["']([^"'>]{1,40})["']""")
_ITEM_TAGS = frozenset({"item", "entry"})  # RSS 0.9x/1.0/2.0 and Atom
_DATE_TAGS = frozenset({"pubDate", "published", "updated", "date", "issued", "modified"})
_UTF8_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
# How every feed and sitemap is parsed: no entities, no network, no DTD, no huge trees.
_SAFE_PARSING: dict[str, bool] = {
    "resolve_entities": False,
    "no_network": True,
    "huge_tree": False,
    "load_dtd": False,
    "recover": True,
    "remove_comments": True,
    "remove_pis": True,
}
_SITEMAP_PARSER = etree.XMLParser(**_SAFE_PARSING)


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
    """A parsed sitemap: ``urlset`` (pages) or ``sitemapindex`` (child sitemaps).

    ``skipped``: entries past the reader's limit, which were not kept.
    """

    kind: str
    entries: tuple[Entry, ...]
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class FeedDocument:
    """A parsed feed's entries; ``skipped``: items past the reader's limit, which were not kept."""

    entries: tuple[Entry, ...]
    skipped: int = 0


def check_xml(body: bytes) -> bytes:
    """``body`` ready for a parser, its prolog checked; ``UnsafeXMLError`` for a DTD subset or entities.

    The encoding is found the way an XML parser finds it (XML 1.0 appendix F): a byte-order
    mark, else the pattern of the first bytes, else the encoding declaration. UTF-16 and
    UTF-32 documents are decoded, checked and handed on as UTF-8 (so the parser reads exactly
    the characters that were checked); an encoding that is not ASCII-compatible and cannot be
    told from the first bytes alone (EBCDIC, UCS-4 in unusual byte orders, or a declaration
    contradicting the bytes) is refused. Only the prolog, before the root element, may hold a
    DOCTYPE: ``<!ENTITY`` quoted inside an item's CDATA is text, not a declaration.
    """
    codec, skip = _sniff(body)
    if codec is None:  # ASCII-compatible: markup bytes are ASCII, so latin-1 maps them one to one
        text = body.decode("latin-1")
        _check_declared(text, skip)
        checked = _checked_prolog(text, skip)
        return body if checked is text else checked.encode("latin-1")
    try:
        text = body[skip:].decode(codec)
    except UnicodeDecodeError:
        raise UnsafeXMLError(f"the document starts as {codec} but is not valid {codec}: refused") from None
    text = _XML_DECLARATION.sub("", text, count=1)
    return (_UTF8_DECLARATION + _checked_prolog(text, 0)).encode("utf-8")


def _sniff(body: bytes) -> tuple[str | None, int]:
    """(codec to decode with, or None for ASCII-compatible bytes; length of the byte-order mark)."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return (None if codec == "utf-8" else codec), len(bom)
    head = body[:4]
    if head.startswith(_EBCDIC):
        raise UnsafeXMLError("an EBCDIC-encoded XML document is refused (not ASCII-compatible)")
    if len(head) == 4 and 0 in head:
        zero = tuple(byte == 0 for byte in head)
        for pattern, codec in _NO_BOM:
            if zero == pattern:
                return codec, 0
        raise UnsafeXMLError(
            f"an XML document in an unsupported encoding (first bytes {quoted(head)}, "
            "neither UTF-8, UTF-16 nor UTF-32): refused"
        )
    return None, 0


def _check_declared(text: str, start: int) -> None:
    """Refuse an ASCII-looking document that declares an encoding its parser would read otherwise."""
    match = _DECLARED_ENCODING.match(text, start)
    if match is None:
        return
    name = match.group(1)
    try:
        codecs.lookup(name)
        ascii_compatible = _ASCII_PROBE.encode(name) == _ASCII_PROBE.encode("ascii")
    except (LookupError, UnicodeError):
        raise UnsafeXMLError(
            f"the XML declaration names an unknown encoding {quoted(name)}: refused"
        ) from None
    if not ascii_compatible:
        raise UnsafeXMLError(
            f"the XML declaration says {quoted(name)} but the document starts in an ASCII-compatible "
            "encoding: refused (a parser would read different characters than were checked)"
        )


def _checked_prolog(text: str, position: int) -> str:
    """``text`` without a bare external DOCTYPE; ``UnsafeXMLError`` for any other declaration.

    Walks the prolog (whitespace, processing instructions, comments) up to the root
    element's ``<``: everything after it is content, where ``<!ENTITY`` can only be text.
    """
    while True:
        while position < len(text) and text[position] in _XML_SPACE:
            position += 1
        for opener, closer in (("<?", "?>"), ("<!--", "-->")):
            if text.startswith(opener, position):
                end = text.find(closer, position + len(opener))
                if end < 0:
                    return text  # unterminated: the parser reports it, nothing is declared
                position = end + len(closer)
                break
        else:
            if not text.startswith("<!", position):
                return text  # the root element (or not XML at all, which the parser says)
            if text[position : position + 9].upper() != "<!DOCTYPE":
                raise UnsafeXMLError(
                    f"XML declarations in the prolog are refused ({quoted(text[position : position + 20])}: "
                    "an XML bomb or external entity?)"
                )
            end = text.find(">", position)
            subset = text.find("[", position)
            if end < 0 or 0 <= subset < end:
                raise UnsafeXMLError(
                    "an XML DTD with an internal subset is refused (XML bomb or external entity)"
                )
            text = text[:position] + text[end + 1 :]


def read_feed(body: bytes, url: str, limit: int | None = None) -> list[Entry]:
    """Entries of an RSS or Atom feed, at most ``limit`` (the newest); see ``read_feed_document``."""
    return list(read_feed_document(body, url, limit).entries)


def read_feed_document(body: bytes, url: str, limit: int | None = None) -> FeedDocument:
    """Entries of an RSS or Atom feed; ``UnsafeXMLError`` for a DTD with declarations.

    A feed with more than ``limit`` items is first streamed by lxml, which keeps only the
    ``limit`` newest items (``heapq``: by date where the item has one, else the first in the
    document); feedparser then reads that short feed. 150,000 items cost feedparser minutes
    and hundreds of megabytes; streamed, they cost a second and a few.
    """
    checked = check_xml(body)
    skipped = 0
    if limit is not None:
        checked, skipped = _newest_items(checked, limit)
    parsed = feedparser.parse(checked, response_headers={"content-location": url})
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
    return FeedDocument(tuple(entries), skipped)


def read_sitemap(body: bytes, limit: int | None = None) -> SitemapDocument:
    """Entries of a sitemap or sitemap index (XML or plain text); ``ParseError`` if it is neither.

    At most ``limit`` entries are kept, the newest (by ``lastmod`` or the news publication
    date where given, else the first in the document); the document is streamed, so a
    sitemap of 370,000 URLs never becomes 370,000 objects.
    """
    codec, skip = _sniff(body)
    if codec is None and not body[skip:].lstrip(b" \t\r\n").startswith(b"<"):
        return _text_sitemap(body, limit)
    state = _Stream()
    ranked = _ranked(_sitemap_entries(check_xml(body), state))
    kept = [entry for _, entry in (heapq.nlargest(limit, ranked) if limit is not None else ranked)]
    if state.kind is None:
        raise ParseError(f"unreadable sitemap XML: {state.error or 'empty document'}")
    if state.kind not in ("urlset", "sitemapindex"):
        raise ParseError(f"not a sitemap: the root element is <{state.kind}>")
    return SitemapDocument(state.kind, tuple(kept), state.count - len(kept))


@dataclass(slots=True)
class _Stream:
    """What streaming a sitemap found besides its entries: the root element, the count, an error."""

    kind: str | None = None
    count: int = 0
    error: str | None = None


def _iterparse(body: bytes) -> Any:
    return etree.iterparse(io.BytesIO(body), events=("start", "end"), **_SAFE_PARSING)


def _sitemap_entries(body: bytes, state: _Stream) -> Iterator[Entry]:
    """Each ``<url>`` or ``<sitemap>`` of the document as it is read, freed once read."""
    depth = 0
    try:
        for event, element in _iterparse(body):
            if event == "start":
                if depth == 0:
                    state.kind = _local(element.tag) if isinstance(element.tag, str) else None
                depth += 1
                continue
            depth -= 1
            if depth != 1:
                continue
            entry = _sitemap_entry(element)
            _free(element)
            if entry is not None:
                state.count += 1
                yield entry
    except etree.XMLSyntaxError as exc:
        state.error = str(exc)


def _text_sitemap(body: bytes, limit: int | None) -> SitemapDocument:
    """A sitemap that is a list of URLs, one a line: the first ``limit`` (it has no dates)."""
    kept: list[Entry] = []
    count = 0
    for raw in io.BytesIO(body):
        url = raw.strip().decode("utf-8", "replace")
        if not url.startswith(("http://", "https://")):
            continue
        count += 1
        if limit is None or len(kept) < limit:
            kept.append(Entry(url))
    if not kept:
        raise ParseError("neither an XML sitemap nor a list of URLs")
    return SitemapDocument("urlset", tuple(kept), count - len(kept))


def _ranked(entries: Iterable[Entry]) -> Iterator[tuple[tuple[float, int], Entry]]:
    """``(rank, entry)``: the newer ranks higher; undated entries rank by document order."""
    for index, entry in enumerate(entries):
        date = entry.date
        yield (date.timestamp() if date is not None else float("-inf"), -index), entry


def _newest_items(body: bytes, limit: int) -> tuple[bytes, int]:
    """``body`` with only its ``limit`` newest items (``body`` itself if it has no more); how many went.

    lxml streams the feed: each item is ranked by its date (feedparser's date parser, which
    reads RFC 822, W3C and the other formats feeds use), kept serialised if it is among the
    newest so far, and freed. The kept items are put back into the channel (or feed), and
    feedparser reads that.
    """
    best: list[tuple[tuple[float, int], bytes]] = []
    container = None
    depth = count = 0
    root = None
    try:
        for event, element in _iterparse(body):
            if event == "start":
                root = element if root is None else root
                depth += 1
                continue
            depth -= 1
            if depth > 2 or not isinstance(element.tag, str) or _local(element.tag) not in _ITEM_TAGS:
                continue
            container = element.getparent() if container is None else container
            rank = (_item_date(element), -count)
            count += 1
            if len(best) < limit:
                heapq.heappush(best, (rank, etree.tostring(element)))
            elif rank > best[0][0]:
                heapq.heapreplace(best, (rank, etree.tostring(element)))
            element.clear()
            container.remove(element)  # the channel's own fields stay
    except etree.XMLSyntaxError:
        return body, 0  # not XML enough to stream: feedparser's lenient parser has a go
    if count <= limit or root is None or container is None:
        return body, 0
    for _, serialised in sorted(best, reverse=True):
        container.append(etree.fromstring(serialised, parser=_SITEMAP_PARSER))
    return etree.tostring(root, xml_declaration=True, encoding="utf-8"), count - limit


def _item_date(element: Any) -> float:
    """The newest date an RSS item or Atom entry gives, as a timestamp; -inf without one."""
    newest = float("-inf")
    for child in element:
        if isinstance(child.tag, str) and _local(child.tag) in _DATE_TAGS and child.text:
            parsed = _struct_time(feedparser.datetimes._parse_date(child.text.strip()[:100]))
            if parsed is not None:
                newest = max(newest, parsed.timestamp())
    return newest


def _free(element: Any) -> None:
    """Drop a streamed element's content and the siblings read before it (lxml's iterparse idiom)."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


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
