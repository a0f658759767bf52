"""Why a query matched: which terms hit, where, and a highlighted snippet for the alert.

Runs only for articles that matched, so it can afford to re-read the original text for
character offsets. Snippets wrap every hit in ``**double stars**`` (Markdown bold), which
apprise renders in chat and keeps readable in plain-text e-mail.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from monitor.matching.evaluate import Span
from monitor.matching.text import Document
from monitor.matching.tree import Term

WINDOW = 40  # words a snippet may span between its first and last highlighted hit
CONTEXT = 8  # words of context kept either side
MAX_SNIPPET = 400
_SPACE = re.compile(r"\s")


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence of a query term in the article."""

    term: str  # the term as written in the query (or the entity alias)
    entity: str  # the entity it belongs to, "" for a plain term
    field: str
    start: int  # character offsets in that field's text
    end: int
    text: str  # the words as they appear in the article


class Evidence:
    """What a match found, kept so that it can be explained later without re-matching.

    Building ``Hit``s costs more than matching when hundreds of rules match one article,
    so it waits until someone asks (``monitor match --explain``).
    """

    __slots__ = ("_doc", "_found", "_hits")

    def __init__(self, found: Mapping[Term, Iterable[Span]], doc: Document) -> None:
        self._found = found
        self._doc = doc
        self._hits: tuple[Hit, ...] | None = None

    def hits(self) -> tuple[Hit, ...]:
        """Every hit of the query's terms, in document order."""
        if self._hits is None:
            self._hits = tuple(hits(self._found, self._doc))
        return self._hits


def hits(found: Mapping[Term, Iterable[Span]], doc: Document) -> list[Hit]:
    """Turn term spans into ``Hit``s with character offsets, in document order."""
    result: list[tuple[Span, Hit]] = []
    for term, spans in found.items():
        for span in spans:
            seg, start, end = span
            starts, ends = doc.char_spans(seg)
            a, b = starts[start], ends[end - 1]
            hit = Hit(term.text, term.entity, doc.fields[seg], a, b, doc.texts[seg][a:b])
            result.append((span, hit))
    result.sort(key=lambda item: (item[0], item[1].term))
    return [hit for _, hit in result]


def terms_hit(found: Mapping[Term, Iterable[Span]]) -> tuple[str, ...]:
    """Texts of the terms that hit, each once, in query order."""
    seen: dict[str, None] = {}
    for term, spans in found.items():
        if any(True for _ in spans):
            seen.setdefault(term.text, None)
    return tuple(seen)


def snippet(found: Mapping[Term, Iterable[Span]], doc: Document) -> str:
    """The passage where the most different terms hit, with every hit in ``**bold**``."""
    spans = sorted({(span, term.text) for term, term_spans in found.items() for span in term_spans})
    if not spans:
        return _clip(" ".join(doc.texts[0].split()))
    # Slide a window of WINDOW words over the hits, keeping the one with the most different
    # terms, then the most hits, then the earliest.
    best, best_range = (-1, 0, 0), (0, 0)
    inside: Counter[str] = Counter()
    j = 0
    for i, ((seg, start, _), text) in enumerate(spans):
        while j < len(spans) and spans[j][0][0] == seg and spans[j][0][1] < start + WINDOW:
            inside[spans[j][1]] += 1
            j += 1
        score = (len(inside), j - i, -i)
        if score > best:
            best, best_range = score, (i, j)
        inside[text] -= 1
        if not inside[text]:
            del inside[text]
    chosen = spans[best_range[0] : best_range[1]]
    seg = chosen[0][0][0]
    text = doc.texts[seg]
    starts, ends = doc.char_spans(seg)
    first = min(span[1] for span, _ in chosen)
    last = max(span[2] for span, _ in chosen)
    lo = max(0, first - CONTEXT)
    hi = min(len(starts), last + CONTEXT)
    marks = _merge([(starts[s], ends[e - 1]) for (_, s, e), _ in chosen])
    out: list[str] = ["… " if lo > 0 else ""]
    pos = starts[lo] if lo > 0 else 0
    for a, b in marks:
        out.extend((text[pos:a], "**", text[a:b], "**"))
        pos = b
    if hi < len(starts):  # keep the punctuation glued to the last word, then cut
        stop = _SPACE.search(text, ends[hi - 1])
        out.extend((text[pos : stop.start() if stop else len(text)], " …"))
    else:
        out.append(text[pos:])
    return _clip(" ".join("".join(out).split()))


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _clip(text: str) -> str:
    if len(text) <= MAX_SNIPPET:
        return text
    cut = text.rfind(" ", 0, MAX_SNIPPET)
    head = text[: cut if cut > 0 else MAX_SNIPPET]
    if head.count("**") % 2:  # never leave a bold marker open
        head = head[: head.rfind("**")].rstrip()
    return head + " …"


def count(found: Mapping[Term, Iterable[Span]]) -> int:
    """Distinct places where the query's terms hit: what ``min_mentions`` is compared with."""
    return len({span for spans in found.values() for span in spans})
