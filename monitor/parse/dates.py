"""Publication dates as timezone-aware UTC datetimes.

Trust order, as the parser issue asks: JSON-LD, then meta tags (both arrive through
``Hints``), then ``<time>``/``itemprop`` elements in the page, then a date in the URL,
then htmldate's search of the text. Naive values are taken as UTC: a wrong hour is
better than a missing date for an alerting pipeline, and most publishers that omit the
offset publish in UTC anyway.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

from dateutil import parser as dateutil_parser  # type: ignore[import-untyped]
from lxml import etree
from lxml import html as lxml_html

_EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
_URL_DATE = re.compile(
    r"(?<![0-9])((?:19|20)\d{2})[/_.-]?(0[1-9]|1[0-2])[/_.-]?(0[1-9]|[12]\d|3[01])(?![0-9])"
)
_URL_DATE_SLASHED = re.compile(r"/((?:19|20)\d{2})/(0?[1-9]|1[0-2])/(0?[1-9]|[12]\d|3[01])/")
_RFC_2822 = re.compile(r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d")
_DATE_ELEMENTS = etree.XPath(
    "//*[@itemprop='datePublished' or @itemprop='dateCreated'][not(self::meta)]"
    "|//time[@datetime or @pubdate]|//abbr[@class='published' or @class='dtstamp']"
)
_EPOCH = re.compile(r"^\d{10}(\d{3})?$")
_TZ_NAMES = {"UTC": 0, "GMT": 0, "Z": 0, "EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600,
             "CDT": -5 * 3600, "MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
             "BST": 3600, "CET": 3600, "CEST": 7200, "IST": 19800, "JST": 9 * 3600}  # fmt: skip


def parse_date(value: str, *, now: datetime | None = None) -> datetime | None:
    """Parse one date string as a publisher wrote it; None when it is not a plausible date."""
    text = value.strip()
    if not text or len(text) > 80:
        return None
    result = _parse(text)
    if result is None:
        return None
    if result.tzinfo is None:
        result = result.replace(tzinfo=UTC)
    result = result.astimezone(UTC)
    latest = (now or datetime.now(UTC)) + timedelta(days=2)
    if not _EARLIEST <= result <= latest:
        return None
    return result


def _parse(text: str) -> datetime | None:
    if _EPOCH.match(text):
        seconds = int(text[:10])
        return datetime.fromtimestamp(seconds, UTC)
    iso = text.replace(" ", "T", 1) if re.match(r"^\d{4}-\d\d-\d\d \d", text) else text
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    if _RFC_2822.match(text):
        try:
            return parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            pass
    try:
        return dateutil_parser.parse(text, tzinfos=_TZ_NAMES, fuzzy=False)  # type: ignore[no-any-return]
    except (ValueError, OverflowError, TypeError, dateutil_parser.ParserError):
        return None


def first_date(candidates: Iterable[str]) -> datetime | None:
    """The first candidate that parses."""
    for candidate in candidates:
        found = parse_date(candidate)
        if found is not None:
            return found
    return None


def page_dates(tree: lxml_html.HtmlElement) -> list[str]:
    """Date strings from ``<time>`` and ``itemprop`` elements, publication ones first."""
    published: list[str] = []
    others: list[str] = []
    for element in _DATE_ELEMENTS(tree)[:50]:
        value = element.get("datetime") or element.get("content") or element.get("title")
        if not value:
            value = element.text_content()[:80]
        kind = " ".join(
            (element.get("itemprop") or "", element.get("class") or "", element.get("pubdate") or "")
        ).lower()
        modified = "modif" in kind or "update" in kind
        (others if modified else published).append(value)
    return published + others


def url_date(url: str | None) -> datetime | None:
    """A full date written in the URL path (``/2010/04/06/`` or ``20100406``)."""
    if not url:
        return None
    path = url.split("?", 1)[0]
    for pattern in (_URL_DATE_SLASHED, _URL_DATE):
        match = pattern.search(path)
        if match:
            try:
                day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                continue
            return parse_date(day.isoformat())
    return None


def text_date(tree: lxml_html.HtmlElement, url: str | None) -> datetime | None:
    """htmldate's search of the whole page: the slowest and least trusted source."""
    from htmldate import find_date

    try:
        found = find_date(tree, extensive_search=True, original_date=True, url=url, outputformat="%Y-%m-%d")
    except (ValueError, TypeError, RecursionError):
        return None
    return parse_date(found) if found else None
