"""The bulk matcher (first version: the reference evaluator, one rule after another)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from monitor.matching.evaluate import Span, evaluate, term_spans
from monitor.matching.text import Document
from monitor.matching.tree import Node, Term, terms


class Matcher:
    """Matches a document against many queries at once."""

    def __init__(self, queries: Sequence[Node]) -> None:
        self.queries = tuple(queries)

    def match(
        self, doc: Document, allowed: Iterable[int] | None = None
    ) -> Iterator[tuple[int, dict[Term, list[Span]]]]:
        """Yield ``(query index, positive term → spans)`` for every matching query."""
        indexes = range(len(self.queries)) if allowed is None else allowed
        for index in indexes:
            query = self.queries[index]
            if evaluate(query, doc):
                yield index, {term: term_spans(term, doc) for term in terms(query)}
