"""Author names: a clean tuple of people, without "By", bios, handles or outlet names.

Sources, most trusted first: JSON-LD ``author``, author meta tags, then byline elements in
the page (``rel=author``, ``itemprop=author``, ``class*=byline|author``). Values are split
on "and"/"&"/commas in the main newsroom languages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree
from lxml import html as lxml_html

_PREFIX = re.compile(
    r"^\s*(?:(?i:written|posted|reported|text|story|words|photos?|analysis|opinion|commentary|interview|review)\s+)?"
    r"(?:(?i:by|from|von|par|por|door|av|af|przez|от)|di|da|de)\s*[:\-]?\s+"
)
_SPLIT = re.compile(
    # Case-sensitive on purpose: a capital "E." or "Y." is an initial, not a conjunction.
    r"\s*(?:,|;|\||&|\b(?:and|And|AND|und|et|y|e|en|och|og|i|u|и)\b(?!\.)| · | / )\s*"
)
_NOISE = re.compile(
    r"https?://|www\.|@|\d|\bupdated\b|\bpublished\b|\bposted\b|\bstaff\b|\bcontributor\b"
    r"|\bcorrespondent\b|\breporter\b|\beditor\b|\bwriter\b|\bnews ?desk\b|\bmin read\b",
    re.IGNORECASE,
)
_ROLE_SUFFIX = re.compile(
    r"\s*[,(|–—-]\s*(?:senior |chief |staff |special |political |foreign )?"
    r"(?:editor|reporter|correspondent|writer|contributor|columnist|journalist).*$",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s+")
_MAX_NAMES = 12

# The class tests run only on classes holding "aut", "by" or "writer", which every one
# of them implies: most elements of a page have a class, and a dozen ``contains`` calls on
# each one made this the slowest XPath of the parser.
_BYLINE_XPATH = etree.XPath(
    "//*[@rel='author' or @itemprop='author' or contains(@data-testid,'byline')"
    " or @class[(contains(.,'aut') or contains(.,'by') or contains(.,'writer'))"
    " and (contains(.,'byline') or contains(.,'author-name') or .='autor' or contains(.,'autor ')"
    " or contains(.,'auteur') or contains(.,'article-author') or contains(.,'author__name') or .='author'"
    " or contains(.,'post-author') or contains(.,'entry-author') or contains(.,'posted-by')"
    " or contains(.,'meta-author') or contains(.,'story-author') or contains(.,'writer'))]]"
    "[not(self::meta)][not(self::link)]"
)


def clean_authors(raw: Iterable[str], site_names: Iterable[str] = ()) -> tuple[str, ...]:
    """Normalise raw author strings into distinct person names."""
    banned = {_key(name) for name in site_names if name}
    names: list[str] = []
    seen: set[str] = set()
    for value in raw:
        for name in _split(value):
            key = _key(name)
            if key and key not in seen and key not in banned:
                seen.add(key)
                names.append(name)
            if len(names) >= _MAX_NAMES:
                return tuple(names)
    return tuple(names)


def _split(value: str) -> list[str]:
    value = _SPACE.sub(" ", value).strip()
    if not value or len(value) > 300:
        return []
    value = _PREFIX.sub("", value)
    value = _ROLE_SUFFIX.sub("", value)
    out = []
    for part in _SPLIT.split(value):
        part = _PREFIX.sub("", part).strip(" .:-–—•·\"'“”()[]")
        if _looks_like_name(part) and not _PREFIX.match(part + " "):
            # ALL-CAPS bylines ("TOM KRISHER") are a style, not the name.
            out.append(part.title() if part.isupper() and len(part) > 3 else part)
    return out


def _looks_like_name(part: str) -> bool:
    if not part or _NOISE.search(part):
        return False
    words = part.split()
    if not 1 <= len(words) <= 5 or len(part) > 60:
        return False
    # A person's name has at least one capitalised word (or is in a caseless script).
    return any(w[:1].isupper() or (not w[:1].isascii() and not w[:1].islower()) for w in words)


def _key(name: str) -> str:
    return _SPACE.sub(" ", name).strip().casefold()


def is_byline(line: str, authors: Iterable[str]) -> bool:
    """True for a short line that is only the byline ("By Jane Doe and John Roe")."""
    if len(line) > 120:
        return False
    stripped = _PREFIX.sub("", line).strip()
    if stripped == line.strip():
        return False
    names = _split(line)
    known = {_key(a) for a in authors}
    return bool(names) and (all(_key(n) in known for n in names) or len(stripped.split()) <= 8)


def page_bylines(tree: lxml_html.HtmlElement) -> list[str]:
    """Author strings from byline elements of the visible page."""
    found: list[str] = []
    for element in _BYLINE_XPATH(tree)[:20]:
        if element.tag in ("script", "style", "img"):
            continue
        text = element.text_content()
        if text and len(text) <= 200:
            found.append(text)
    return found
