"""The text of an element as a reader sees it: adjacent blocks never glued together.

``text_content()`` concatenates text nodes, so a teaser box ``<h3>Eskalation in
Nahost:</h3><p>Aktuelle News</p>`` reads "Nahost:Aktuelle", and a byline
``<a>Jeff Foust</a><span>Monday</span>`` reads "Jeff FoustMonday". A browser puts block
elements on lines of their own, and the separate spans of a byline or headline are laid
out apart by CSS. ``element_text`` walks the tree once (lxml's ``iterwalk``, in C) and puts a
newline at every block boundary and a space at an inline boundary where the two sides
would otherwise fuse into one word: a lowercase letter followed by a capital
("FoustMonday") or punctuation followed by a letter ("Nahost:Aktuelle", "पकड़ा:दो"). Word
pieces split by markup inside one word ("<b>J</b>ohn") stay joined.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml import html as lxml_html

#: Elements a browser lays out as blocks (or on a line of their own).
BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt", "figcaption",
     "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
     "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul"}
)  # fmt: skip
_SKIP = frozenset({"script", "style", "template", "noscript"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_LINES = re.compile(r"\s*\n\s*")
#: Punctuation that ends a phrase; a letter right after it across a tag boundary is a new phrase.
_CLOSERS = frozenset(":;,!?)]»”|")


def element_text(element: lxml_html.HtmlElement, block_separator: str = "\n") -> str:
    """The text of ``element`` with blocks on their own lines and no words fused at tag boundaries."""
    pieces: list[str] = []
    skipping = 0

    def add(text: str | None, boundary: bool) -> None:
        if not text:
            return
        if boundary and pieces and _fuses(pieces[-1], text):
            pieces.append(" ")
        pieces.append(text)

    for event, node in etree.iterwalk(element, events=("start", "end", "comment", "pi")):
        tag = node.tag if isinstance(node.tag, str) else ""
        if not tag:  # a comment or processing instruction: only its tail is text
            if not skipping:
                add(node.tail, True)
            continue
        if event == "start":
            if tag in _SKIP:
                skipping += 1
                continue
            if skipping:
                continue
            if tag in BLOCK_TAGS:
                pieces.append("\n")
            add(node.text, True)
        else:
            if tag in _SKIP:
                skipping -= 1
            elif not skipping and tag in BLOCK_TAGS:
                pieces.append("\n")
            if node is not element and not skipping:
                add(node.tail, True)
    text = _SPACES.sub(" ", "".join(pieces))
    return _LINES.sub(block_separator, text).strip()


def _fuses(before: str, after: str) -> bool:
    """True when ``before`` + ``after`` would glue two words or phrases into one token."""
    if not before or not after:
        return False
    last, first = before[-1], after[0]
    if last.isspace() or first.isspace() or last == "\n":
        return False
    if last in _CLOSERS:
        return first.isalpha()
    return last.islower() and first.isupper()
