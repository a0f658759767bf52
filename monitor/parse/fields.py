"""Choosing one value per field from the candidates: title, language, canonical URL.

Kept apart from the extraction so that the choice rules, the part most likely to need
tuning for a new kind of site, sit in one small module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree
from lxml import html as lxml_html

_SPACE = re.compile(r"\s+")
_HEADINGS = etree.XPath("//h1")
_WORD = re.compile(r"\w+")
_TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|·|»|•|/)\s+")
_TLD = re.compile(r"\.(?:com|net|org|co\.uk|com\.au|de|fr|it|es|nl|ch|at|jp|ru|pl|in|ca|io)$")
_NON_WORD = re.compile(r"[\W_]+")
_LANG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_][a-zA-Z0-9]{2,8})*$")
_ISO_639_2 = {"eng": "en", "deu": "de", "ger": "de", "fra": "fr", "fre": "fr", "spa": "es", "ita": "it",
              "por": "pt", "nld": "nl", "dut": "nl", "jpn": "ja", "zho": "zh", "chi": "zh", "rus": "ru",
              "pol": "pl", "swe": "sv", "tur": "tr", "kor": "ko", "ara": "ar",
              # Country codes publishers write for the language (Korea, Japan, China, Greece...).
              "kr": "ko", "jp": "ja", "cn": "zh", "gr": "el", "cz": "cs", "dk": "da", "se": "sv",
              "ua": "uk", "br": "pt"}  # fmt: skip


def squash(text: str) -> str:
    """Collapse whitespace; the form every short field is stored in."""
    return _SPACE.sub(" ", text).strip()


def choose_title(hinted: list[str], tree: lxml_html.HtmlElement, site_names: Iterable[str]) -> str:
    """The on-page headline when it agrees with the metadata, else the best metadata title."""
    head = tree.find(".//title")
    page_title = squash(head.text_content()) if head is not None else ""
    candidates = [squash(t) for t in hinted if squash(t)]
    if page_title:
        candidates.append(page_title)
    headings = [squash(h.text_content()) for h in _HEADINGS(tree)[:8]]
    headings = [h for h in headings if 0 < len(h) <= 400]
    sites = [squash(s) for s in site_names if s]
    site_keys = {compact(s) for s in sites}
    for heading in headings:
        if is_site(heading, site_keys):
            continue  # the logo heading of blogs and small outlets
        if any(_similar(heading, c) for c in candidates):
            return heading
    for candidate in candidates:
        stripped = strip_site(candidate, sites)
        if stripped:
            return stripped
    if headings:
        return headings[0]
    for tag in ("h2", "h3"):
        element = tree.find(f".//{tag}")
        if element is not None and squash(element.text_content()):
            return squash(element.text_content())[:400]
    return ""


def strip_site(title: str, site_names: list[str]) -> str:
    """Drop a leading or trailing " | Site Name" from a ``<title>``-style string.

    A part counts as the site when it is a known site name, or looks like the host name
    ("AutoGuide.com" for autoguide.com), or is a short tail after a much longer head.
    """
    sites = {compact(s) for s in site_names if s}
    for _ in range(3):
        parts = list(_TITLE_SEPARATORS.finditer(title))
        if not parts:
            break
        last, first_sep = parts[-1], parts[0]
        tail, head = title[last.end() :], title[: first_sep.start()]
        if is_site(tail, sites) or (len(tail.split()) <= 3 and len(title[: last.start()]) > 3 * len(tail)):
            title = title[: last.start()].strip()
        elif is_site(head, sites):
            title = title[first_sep.end() :].strip()
        else:
            break
    return title


def compact(text: str) -> str:
    """A name reduced for comparison with site names: no "www.", common TLD, case or punctuation."""
    text = text.casefold().strip().removeprefix("www.")
    text = _TLD.sub("", text)
    return _NON_WORD.sub("", text)


def is_site(part: str, sites: set[str]) -> bool:
    """True when ``part`` names the site: equal to a ``compact`` site name or a prefix of one."""
    key = compact(part)
    return bool(key) and any(
        key == s or (len(s) > 3 and (key.startswith(s) or s.startswith(key))) for s in sites
    )


def _similar(heading: str, candidate: str) -> bool:
    a, b = heading.casefold(), candidate.casefold()
    short, long_ = sorted((a, b), key=len)
    if a == b or (len(short) >= 12 and short in long_ and len(short) >= 0.5 * len(long_)):
        return True
    wa, wb = set(_WORD.findall(a)), set(_WORD.findall(b))
    if not wa or not wb:
        return False
    return len(wa & wb) / len(wa | wb) >= 0.6


def choose_language(candidates: Iterable[str]) -> str | None:
    """The first candidate that is a language tag, as an ISO 639-1 code."""
    for value in candidates:
        match = _LANG.match(value.strip())
        if not match:
            continue
        code = match.group(1).lower()
        code = _ISO_639_2.get(code, code)
        if len(code) == 2:
            return code
    return None


def first(values: Iterable[str], limit: int = 1000) -> str | None:
    """The first non-blank value, whitespace-collapsed and bounded."""
    for value in values:
        text = squash(value)
        if text:
            return text[:limit]
    return None
