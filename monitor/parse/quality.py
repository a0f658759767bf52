"""Is an extracted body the article? General signals, measured on the page's own tree.

An extractor that fails rarely fails loudly: it returns the navigation menu, the headline
alone, or the first two paragraphs before an ad slot. A monitor that stores such a body
misses the story without anyone noticing, so every extraction is checked against what the
page itself shows:

- **empty** or **only the title**: nothing but the headline (or nothing) is left;
- **menu**: most lines are the text of a link on the page (navigation, teaser lists);
- **short**: far shorter than the page's main text block (``main_block``, a
  readability-style score: each paragraph's non-link text is credited to its parent and,
  decreasingly, to three more ancestors, and the best-scored element wins) or than the publisher's own
  JSON-LD ``articleBody``.

No per-site rule: the thresholds are ratios of the page's own figures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import html as lxml_html

_SPACE = re.compile(r"\s+")
_NON_WORD = re.compile(r"\W+")
_NON_WORD_BUT_NUL = re.compile(r"[^\w\x00]+")  # words_of joins texts with NUL
#: The ASCII characters that are not word characters (``\W``), as bytes: NUL first.
_ASCII_NON_WORD = bytes(c for c in range(128) if not (chr(c).isalnum() or chr(c) == "_"))
_ASCII_NON_WORD_BUT_NUL = _ASCII_NON_WORD[1:]
#: Paragraphs, whose text ``main_block`` credits to their ancestors (menus are lists, not these).
_SCORED_TAGS = ("p", "pre", "blockquote")
#: What ``block_text`` reads of the chosen block.
_TEXT_TAGS = ("p", "pre", "blockquote", "li", "h2", "h3")
_MIN_PARAGRAPH = 25
#: Ancestors credited with a paragraph's text: 1 for the parent, 1/2, 1/3, 1/4 above it, so
#: that an article cut into many small containers still beats any one of them.
_DEPTH = 4
#: A sibling of the best block scoring this share of it continues the article.
_SIBLING_SHARE = 0.2
#: Below this share of the reference the body is "short" (the page shows far more text).
SHORT_RATIO = 0.3
#: A reference shorter than this (word characters) is no evidence that text is missing.
MIN_REFERENCE = 700
#: Share of the body that must be lines of the main block for the block to be its reference.
OVERLAP = 0.3
#: A body whose lines are link texts for more than this share of its characters is a menu.
MENU_RATIO = 0.6
#: Problems after which the text must not be stored; "short" still keeps the best we have.
HARD_PROBLEMS = frozenset({"empty", "only-title", "menu"})


@dataclass(frozen=True, slots=True)
class Extraction:
    """A body and how it was obtained: the extractor that won and, if any, what was wrong.

    ``problem`` names why the main extraction was rejected when a fallback won, or why
    every candidate failed; it is what a status page or an operator alert reports.
    """

    text: str
    method: str
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Block:
    """The page's main text block (``main_block``): its text, line keys and size."""

    text: str
    keys: frozenset[str]
    size: int

    @classmethod
    def of(cls, tree: lxml_html.HtmlElement) -> Block:
        text = main_block(tree)
        return cls(text, frozenset(keys_of([line for line in text.splitlines() if line.strip()])), size(text))


class PageSignals:
    """What a body is measured against: link texts and the main text block of the page.

    The link texts are read at once: every body is checked against them. The main block
    is the dearest signal and only tells whether a body is "short", which no body holding
    a fair share of the page's text can be; so it is read on first use, and ``text_bound``
    (``_word_bytes`` of the page's text, never less than the block's word characters)
    lets ``assess`` pass such a body without it. The tree must not change
    while the signals are in use.
    """

    __slots__ = ("_block", "_tree", "article_body_size", "link_texts", "text_bound")

    def __init__(
        self, tree: lxml_html.HtmlElement, link_texts: frozenset[str], text_bound: int, article_body_size: int
    ) -> None:
        self._tree = tree
        self._block: Block | None = None
        self.link_texts = link_texts
        self.text_bound = text_bound
        self.article_body_size = article_body_size

    @classmethod
    def of(cls, tree: lxml_html.HtmlElement, article_body: str | None = None) -> PageSignals:
        """Read the signals from ``tree`` (already pruned of hidden and unread elements)."""
        links = frozenset(k for k in keys_of([_link_text(a) for a in tree.iter("a")]) if len(k) > 1)
        return cls(tree, links, _word_bytes(tree.text_content()), size(article_body or ""))

    @property
    def block(self) -> Block:
        """The main block, read from the tree the first time it is asked for."""
        if self._block is None:
            self._block = Block.of(self._tree)
        return self._block

    @property
    def block_text(self) -> str:
        return self.block.text

    @property
    def block_keys(self) -> frozenset[str]:
        return self.block.keys

    @property
    def block_size(self) -> int:
        return self.block.size


def _word_bytes(text: str) -> int:
    """An upper bound of ``size(text)``, ten times cheaper: the UTF-8 bytes of its word
    characters and of its non-ASCII characters (each counts its two to four bytes)."""
    return len(text.encode("utf-8", "surrogatepass").translate(None, _ASCII_NON_WORD))


def _link_text(link: lxml_html.HtmlElement) -> str:
    """``text_content()`` of a link; most links hold one text node, read without an XPath call."""
    return (link.text or "") if not len(link) else "".join(link.itertext())


def key(text: str) -> str:
    """Text reduced to its word characters, case-folded: the form lines are compared in."""
    return word_chars(text).casefold()


def word_chars(text: str) -> str:
    """``text`` without its non-word characters (``\\W``): what keys and sizes are made of."""
    return _drop_non_word(text, _ASCII_NON_WORD, _NON_WORD)


def _drop_non_word(text: str, ascii_table: bytes, pattern: re.Pattern[str]) -> str:
    """``pattern.sub("", text)``, for a ``pattern`` removing the non-word characters and
    ``ascii_table`` listing those of them that are ASCII.

    The regex pays for every run it removes, a space between each two words; ``bytes.translate``
    deletes the ASCII ones in one C loop (UTF-8 encodes other characters without ASCII
    bytes), which leaves the regex nothing to do on an ASCII text and little on others:
    a body's keys cost a twentieth (ASCII) to a half of the regex alone.
    """
    if text.isascii():
        return text.encode("ascii").translate(None, ascii_table).decode("ascii")
    rest = text.encode("utf-8", "surrogatepass").translate(None, ascii_table).decode("utf-8", "surrogatepass")
    return pattern.sub("", rest)


def keys_of(texts: list[str]) -> list[str]:
    """``key`` of each of ``texts``, in one pass of the regex over them all."""
    return [words.casefold() for words in words_of(texts)]


def words_of(texts: list[str]) -> list[str]:
    """The word characters of each of ``texts`` (case kept), in one pass of the regex over them all.

    A page has hundreds of links and lines; one ``sub`` over the joined texts costs a
    fraction of one call per text. A line's ``size`` is the length of its words and its
    ``key`` their case fold, so one pass gives both.
    """
    if not texts:
        return []
    found = _drop_non_word("\x00".join(texts), _ASCII_NON_WORD_BUT_NUL, _NON_WORD_BUT_NUL).split("\x00")
    return found if len(found) == len(texts) else [word_chars(text) for text in texts]  # a NUL in a text


def size(text: str) -> int:
    """Word characters of ``text``: a length that means the same in every script.

    Counting words would make a Japanese or Chinese article, written without spaces, a
    few dozen "words" long.
    """
    return len(word_chars(text))


def main_block(tree: lxml_html.HtmlElement) -> str:
    """The text of the element holding the most paragraph text that is not link text.

    The readability score in its simplest form: each paragraph's text (less its links)
    counts fully for its parent, half for its grandparent, a third and a quarter above.
    """
    scores: dict[lxml_html.HtmlElement, float] = {}
    for element in tree.iter(*_SCORED_TAGS):
        text = element.text_content()
        if len(text) < _MIN_PARAGRAPH:
            continue
        linked = sum(len(_link_text(a)) for a in element.iter("a"))
        value = len(text) - linked
        if value < _MIN_PARAGRAPH:
            continue
        for depth, ancestor in enumerate(element.iterancestors(), start=1):
            scores[ancestor] = scores.get(ancestor, 0.0) + value / depth
            if depth == _DEPTH:
                break
    if not scores:
        return ""
    best = max(scores, key=scores.__getitem__)
    parent = best.getparent()
    if parent is None:
        return block_text(best)
    # Readability's sibling step: an article cut into several containers by ad slots
    # continues in the siblings of the best one.
    threshold = _SIBLING_SHARE * scores[best]
    parts = [block_text(s) for s in parent if s is best or scores.get(s, 0.0) >= threshold]
    return "\n\n".join(part for part in parts if part)


def block_text(element: lxml_html.HtmlElement) -> str:
    """The paragraphs of ``element`` one per line (its own text when it has none)."""
    lines = []
    for child in element.iter(*_TEXT_TAGS):
        if any(a.tag in _TEXT_TAGS for a in child.iterancestors()):
            continue  # a list item inside a paragraph-like parent is read with it
        text = _SPACE.sub(" ", " ".join(child.itertext())).strip()
        if text:
            lines.append(text)
    if not lines:
        return _SPACE.sub(" ", " ".join(element.itertext())).strip()
    return "\n\n".join(lines)


def assess(text: str, page: PageSignals, titles: Iterable[str] = ()) -> str | None:
    """What is wrong with ``text`` as the article's body, or None when nothing is."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return "empty"
    heads = {k for k in keys_of(list(titles)) if k}
    # Each line with its key and size (its word characters, case kept).
    rest = [(line, w.casefold(), len(w)) for line, w in zip(lines, words_of(lines), strict=True)]
    rest = [(line, k, n) for line, k, n in rest if k not in heads]
    if not rest:
        return "only-title"
    total = sum(len(line) for line, _, _ in rest)
    linked = sum(len(line) for line, k, _ in rest if k in page.link_texts)
    if len(rest) >= 3 and linked > MENU_RATIO * total:
        return "menu"
    count = sum(n for _, _, n in rest)
    reference = page.article_body_size
    if not _short(count, max(reference, page.text_bound)):
        return None  # the main block, never longer than the bound, cannot make it short either
    block = page.block
    if block.size > reference and _shared([(line, k) for line, k, _ in rest], block.keys) >= OVERLAP:
        # The main block is this article (not a comment thread beside it): compare with it.
        reference = block.size
    if _short(count, reference):
        return f"short: {count} of {reference} characters"
    return None


def _short(count: int, reference: int) -> bool:
    """True when a body of ``count`` word characters is short next to ``reference`` ones."""
    return reference >= MIN_REFERENCE and count < SHORT_RATIO * reference


def overlap(lines: list[str], keys: frozenset[str]) -> float:
    """Share of ``lines`` (by length) that are also lines of the main block."""
    return _shared(list(zip(lines, keys_of(lines), strict=True)), keys)


def _shared(lines: list[tuple[str, str]], keys: frozenset[str]) -> float:
    """Share of ``lines``, each with its key, (by length) whose key is in ``keys``."""
    total = sum(len(line) for line, _ in lines)
    shared = sum(len(line) for line, k in lines if k in keys)
    return shared / total if total else 0.0


def is_hard(problem: str | None) -> bool:
    """True when a body with ``problem`` must not be stored as the article."""
    return problem is not None and problem.split(":", 1)[0] in HARD_PROBLEMS


def quality(text: str, page: PageSignals) -> float:
    """Words of the lines that are not link texts: the figure candidates are ranked by."""
    return float(sum(len(w) for w in words_of(text.splitlines()) if w.casefold() not in page.link_texts))
