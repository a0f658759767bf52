"""The standfirst (lead, summary, deck) is part of the article: find it and keep it.

Publishers print it between the headline and the text, often outside the container that
extractors take for the article, and usually repeat it as the page's description
(``og:description``, JSON-LD ``description``). A rule that matches words of the lead must
see them, so the visible element whose text is that description is put before the body
when the body does not already hold it. Plain lxml: the description's first words are
looked up among the page's text nodes (an XPath ``contains`` in C), and the element around
the hit is accepted only when its whole text is the description (or starts with a
description cut short with an ellipsis).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree
from lxml import html as lxml_html

from monitor.parse.quality import key

_SPACE = re.compile(r"\s+")
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…|\[…\]|\[\.\.\.\])\s*$")
_PROBE = 30
_MIN_LEAD = 40
_MAX_LEAD = 1200
#: Levels climbed from the text node that matched to the element holding the whole lead.
_CLIMB = 3
_SKIP = frozenset({"head", "title", "meta", "script", "style", "a", "button", "option", "textarea"})
_TEXT_HIT = etree.XPath("//body//text()[contains(., $probe)]")


def find_lead(tree: lxml_html.HtmlElement, descriptions: Iterable[str]) -> str | None:
    """The visible standfirst of ``tree``: the text of an element that shows a description."""
    shown: str | None = None
    for description in list(dict.fromkeys(d.strip() for d in descriptions if d and d.strip()))[:3]:
        description = _SPACE.sub(" ", description)
        if not _MIN_LEAD <= len(description) <= _MAX_LEAD:
            continue
        cut = _ELLIPSIS.search(description) is not None
        wanted = key(_ELLIPSIS.sub("", description))
        probe = description[:_PROBE]
        if "'" in probe and '"' in probe:
            continue
        if shown is None:
            shown = _body_text(tree)
        if probe not in shown:
            continue  # in no text node either: the XPath would search them all for nothing
        for hit in _TEXT_HIT(tree, probe=probe)[:5]:
            element = hit.getparent()
            for _ in range(_CLIMB):
                if element is None or element.tag in _SKIP or not isinstance(element.tag, str):
                    break
                text = _SPACE.sub(" ", element.text_content()).strip()
                found = key(text)
                if found == wanted or (cut and found.startswith(wanted) and len(text) < 3 * len(description)):
                    return text
                if len(found) > len(wanted) * 3:
                    break
                element = element.getparent()
    return None


def _body_text(tree: lxml_html.HtmlElement) -> str:
    """The text of the page's ``<body>``: one string to search before the XPath searches its text nodes."""
    return "".join(body.text_content() for body in tree.iter("body"))


def with_lead(body: str, lead: str | None) -> str:
    """``body`` with ``lead`` as its first paragraph, unless it holds the lead already."""
    if not lead or not body:
        return body
    probe = key(lead)[:80]
    if probe and probe in key(body):
        return body
    return f"{lead}\n\n{body}"
