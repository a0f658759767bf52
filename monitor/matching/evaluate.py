"""The reference evaluator: the meaning of a query, written as plainly as possible.

It looks every term up by walking the words of the document and evaluates the tree with
sets of spans. It is slow on purpose: it is what the compiled bulk matcher is tested
against (``tests/unit/test_matching_property.py``), and what ``docs/rules.md`` describes.

A span is ``(segment, start, end)``: word positions ``start <= i < end`` in one segment of
the ``Document``. ``NEAR/n`` holds for two spans in the same segment with at most ``n``
words between them; ``ONEAR/n`` also needs the left one to end before the right one
starts; the two spans must differ (``a NEAR/5 a`` needs two ``a``). A ``NEAR`` has the
span that covers both sides, so it can be a side of another ``NEAR``.
"""

from __future__ import annotations

from monitor.matching.text import Document
from monitor.matching.tree import And, Near, Node, Not, Or, Term, terms

Span = tuple[int, int, int]


def term_spans(term: Term, doc: Document) -> list[Span]:
    """Every place ``term`` occurs in one of its fields, in document order."""
    found: list[Span] = []
    size = len(term.words)
    head, last = term.words[:-1], term.words[-1]
    for seg, (field, seg_words) in enumerate(zip(doc.fields, doc.segments, strict=True)):
        if field not in term.fields:
            continue
        for start in range(len(seg_words) - size + 1):
            end = start + size
            word = seg_words[end - 1]
            if seg_words[start : end - 1] != head:
                continue
            if word == last or (term.prefix and word.startswith(last)):
                found.append((seg, start, end))
    return found


def near(left: set[Span], right: set[Span], distance: int, ordered: bool) -> set[Span]:
    """The covering spans of every left/right pair that is close enough."""
    result: set[Span] = set()
    for a in left:
        for b in right:
            if a[0] != b[0] or a == b:
                continue
            if ordered:
                if a[2] > b[1] or b[1] - a[2] > distance:
                    continue
            elif max(a[1], b[1]) - min(a[2], b[2]) > distance:
                continue
            result.add((a[0], min(a[1], b[1]), max(a[2], b[2])))
    return result


def spans(node: Node, doc: Document) -> set[Span]:
    """The spans of a positional node (term, ``Or`` of positional nodes, ``Near``)."""
    if isinstance(node, Term):
        return set(term_spans(node, doc))
    if isinstance(node, Or):
        return set().union(*(spans(child, doc) for child in node.children))
    if isinstance(node, Near):
        return near(spans(node.left, doc), spans(node.right, doc), node.distance, node.ordered)
    raise TypeError(f"{type(node).__name__} has no positions")


def evaluate(node: Node, doc: Document) -> bool:
    """Whether the query ``node`` matches the document."""
    if isinstance(node, Term | Near):
        return bool(spans(node, doc))
    if isinstance(node, Not):
        return not evaluate(node.child, doc)
    if isinstance(node, And):
        return all(evaluate(child, doc) for child in node.children)
    return any(evaluate(child, doc) for child in node.children)


def mentions(node: Node, doc: Document) -> int:
    """How many distinct places the query's terms (outside ``NOT``) occur: ``min_mentions``."""
    return len({span for term in terms(node) for span in term_spans(term, doc)})
