"""Article bodies a template split in two: the text of the later parts, to append.

Templates interrupt a long body with an ad row or a sidebar by closing the body's
container and opening another one with the same tag and class (``<div class="article
__content">`` ... ad ... ``<div class="article__content">``). trafilatura extracts the
container holding most of the text and stops there, so the rest of the article is lost.
``continuation`` finds the container the extracted paragraphs sit in and reads its later
namesakes.
"""

from __future__ import annotations

from collections import Counter

from lxml import html as lxml_html

from monitor.parse.text import element_text

#: Blocks read from a continuation container, in document order.
_READ = ("p", "h2", "h3", "h4", "blockquote", "li")
#: Paragraphs of the extracted text that must sit in one container for it to count as the body's.
_MIN_PARAGRAPHS = 2
#: A continuation holds at most this share of paragraphs already extracted (else it is a repeat).
_MAX_SEEN = 0.5
#: A body is split into at most this many parts; a class used more often is a widget's.
_MAX_PARTS = 4
#: Word characters of a paragraph's start compared before its whole text is read.
_START = 24
#: A continuation holds at least one paragraph of this many characters.
_PARAGRAPH = 120


def continuation(text: str, tree: lxml_html.HtmlElement) -> str:
    """Paragraphs of the later containers sharing the body container's tag and class."""
    # Cheap first: paragraphs whose containers' tag and class repeat on the page.
    groups: dict[tuple[str, str], list[lxml_html.HtmlElement]] = {}
    paragraphs = []
    for paragraph in tree.iter("p"):
        parent = paragraph.getparent()
        classes = parent.get("class") if parent is not None else None
        if parent is not None and classes:
            group = groups.setdefault((parent.tag, classes), [])
            if not any(p is parent for p in group):
                group.append(parent)
            paragraphs.append((paragraph, parent, group))
    if not any(2 <= len(g) <= _MAX_PARTS for g in groups.values()):
        return ""
    seen = {_key(line) for line in text.split("\n\n") if _key(line)}
    if len(seen) < _MIN_PARAGRAPHS:
        return ""
    starts = {k[:_START] for k in seen}
    holders: Counter[lxml_html.HtmlElement] = Counter()
    for paragraph, parent, _ in paragraphs:
        head = _key(paragraph.text or "")
        if len(head) >= _START and head[:_START] not in starts:
            continue  # cheap test first: most paragraphs of a page are not in the body
        # The key drops spaces, so text_content's gluing at tag boundaries does not matter.
        if _key(paragraph.text_content()) in seen:
            holders[parent] += 1
            if holders[parent] > _MIN_PARAGRAPHS:
                break  # the body's container: its first paragraphs come first
    if not holders:
        return ""
    body, count = holders.most_common(1)[0]
    if count < _MIN_PARAGRAPHS:
        return ""
    namesakes = [e for e in tree.iter(body.tag) if e.get("class") == body.get("class")]
    if len(namesakes) > _MAX_PARTS:
        return ""  # a widget or card class the whole page uses, not a body's
    found: list[str] = []
    for element in namesakes[namesakes.index(body) + 1 :]:
        if _related(element, body):
            continue
        blocks = [element_text(b, " ") for b in element.iter(_READ)]
        blocks = [b for b in blocks if _key(b)]
        new = [b for b in blocks if _key(b) not in seen]
        if len(new) < (1 - _MAX_SEEN) * len(blocks) or not any(len(b) >= _PARAGRAPH for b in new):
            continue
        found.extend(new)
    return "\n\n".join(found)


def _related(element: lxml_html.HtmlElement, body: lxml_html.HtmlElement) -> bool:
    """True when one of the two contains the other."""
    return any(a is body for a in element.iterancestors()) or any(a is element for a in body.iterancestors())


def _key(text: str) -> str:
    """Text without whitespace: how a paragraph and its extracted line are compared.

    ``str.split`` and ``join`` run in C; a ``\\W`` regex over every body line cost more
    than the rest of this module.
    """
    return "".join(text.split())
