"""The bulk matcher: every rule compiled into one automaton and a set of small checks.

A regex per rule costs time linear in the number of rules. Here one Aho-Corasick
automaton (pyahocorasick) holds every distinct term of every rule, so one pass over an
article finds all terms whatever their number. Text and terms are normalised words joined
by single spaces, and each term is searched as ``" w1 w2 "`` (``" w1 w2"`` for a prefix),
so a hit is always on word boundaries.

Only *candidate* rules are then evaluated: each rule is anchored on one clause that must
hold for it to match (for ``a AND (b OR c)``: ``{a}`` or ``{b, c}``), chosen so that its
terms are the ones the fewest rules use; generic words such as ``alliance`` are shared by
many rules and names are not, so anchors tend to be names; a second required clause is
checked with one set operation before any check runs. Positions are computed only
when a candidate has a ``NEAR``, and explanations only for rules that matched.

Everything is linear in the text: once counting the spaces before each hit has cost a
few times a segment's length, a hit's word position is found by bisecting the word start
offsets of the segment (computed once per segment and document); counting alone made a
5 MB page of rule terms take over a minute.

The meaning is ``monitor.matching.evaluate``'s; a property test checks they agree.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from itertools import accumulate
from operator import itemgetter

import ahocorasick  # type: ignore[import-not-found]  # no stubs published

from monitor.matching.checks import Compiler, Truth
from monitor.matching.evaluate import Span
from monitor.matching.text import Document
from monitor.matching.tree import Atom, Node, Term, terms

_second = itemgetter(1)
# A hit's word position is found by counting the spaces before it, about 20 times cheaper
# per character than building the segment's word starts (``_Context.word_starts``), until
# the characters counted in a segment reach this many times its length; then by bisecting
# its word starts, so that the cost stays linear in the text.
COUNT_BUDGET = 32
_NOTHING: set[Span] = set()  # shared: callers only read span sets, never change them


class MatchResult:
    """The queries that matched one document, by group, and their hits on demand."""

    __slots__ = ("_context", "_found", "_matcher", "groups")

    def __init__(self, groups: list[int], matcher: Matcher, context: _Context) -> None:
        self.groups = groups  # matching groups, ascending; see ``Matcher.members``
        self._matcher = matcher
        self._context = context
        self._found: dict[int, dict[Term, list[Span]]] = {}

    @property
    def indexes(self) -> list[int]:
        """Indexes of every matching query, ascending."""
        members = self._matcher.members
        return sorted(index for group in self.groups for index in members[group])

    def found(self, index: int) -> dict[Term, list[Span]]:
        """Positive term → its spans, in query order, for query ``index``."""
        return self.found_group(self._matcher.group_of[index])

    def found_group(self, group: int) -> dict[Term, list[Span]]:
        """``found`` for every query of ``group`` (they are the same query)."""
        found = self._found.get(group)
        if found is None:
            context = self._context
            found = self._found[group] = {
                term: sorted(context.term_spans(atom, term.fields))
                for term, atom in self._matcher.positive_terms(group)
            }
        return found


class _Context:
    """Per-document state: what the scan found, and positions computed on demand."""

    __slots__ = (
        "doc",
        "hits",
        "lengths",
        "matcher",
        "memo",
        "positions",
        "scanned",
        "sets",
        "spans_cache",
        "starts",
        "texts",
    )

    def __init__(self, matcher: Matcher, doc: Document) -> None:
        self.matcher = matcher
        self.doc = doc
        automaton = matcher.automaton
        used = matcher.fields_used if matcher.atom_ids else set()
        self.texts = [
            " " + " ".join(words) + " " if field in used and words else ""
            for field, words in zip(doc.fields, doc.segments, strict=True)
        ]
        self.hits: list[list[tuple[int, int]]] = [
            list(automaton.iter(text)) if text else [] for text in self.texts
        ]
        self.sets: dict[tuple[str, ...], set[int]] = {}
        self.positions: dict[int, list[tuple[int, int]]] | None = None
        self.spans_cache: dict[tuple[int, tuple[str, ...]], set[Span]] = {}
        self.memo: dict[int, set[Span]] = {}
        self.lengths = matcher.lengths
        self.starts: dict[int, list[int]] = {}
        self.scanned = [0] * len(self.texts)  # characters counted in each segment so far

    def word_starts(self, seg: int) -> list[int]:
        """Offsets in ``texts[seg]`` where each word starts, ascending; computed once per segment.

        The scanned text is ``" w0 w1 ... "``: word ``i`` starts one character after the
        end of word ``i - 1`` and its following space.
        """
        starts = self.starts.get(seg)
        if starts is None:
            lengths = (len(word) + 1 for word in self.doc.segments[seg])
            starts = self.starts[seg] = list(accumulate(lengths, initial=1))
        return starts

    def seen(self, fields: tuple[str, ...]) -> set[int]:
        """Atoms found in any segment of ``fields``."""
        found = self.sets.get(fields)
        if found is None:
            parts = [
                set(map(_second, hits))
                for field, hits in zip(self.doc.fields, self.hits, strict=True)
                if hits and field in fields
            ]
            found = self.sets[fields] = set().union(*parts)
        return found

    def term_spans(self, atom: int, fields: tuple[str, ...]) -> set[Span]:
        """Word spans of ``atom`` in segments of ``fields``."""
        positions = self.positions
        if positions is None:
            positions = self.positions = {}
            for seg, hits in enumerate(self.hits):
                for end, found in hits:
                    positions.setdefault(found, []).append((seg, end))
        ends = positions.get(atom)
        if ends is None:
            return _NOTHING  # most aliases of an entity are absent from any one article
        key = (atom, fields)
        cached = self.spans_cache.get(key)
        if cached is not None:
            return cached
        size, length = self.matcher.sizes[atom], self.lengths[atom]
        result: set[Span] = set()
        doc_fields, texts, scanned = self.doc.fields, self.texts, self.scanned
        starts: list[int] | None = None
        current = -1
        for seg, end in ends:  # grouped by segment
            if doc_fields[seg] not in fields:
                continue
            if seg != current:
                starts, current = self.starts.get(seg), seg
            # The hit starts with the space before its first word, at ``offset - 1``.
            offset = end - length + 2
            if starts is None and scanned[seg] < COUNT_BUDGET * len(texts[seg]):
                scanned[seg] += offset  # count the spaces before it, at C speed
                start = texts[seg].count(" ", 0, offset) - 1
            else:  # counting more would grow with the square of the text: bisect instead
                if starts is None:
                    starts = self.word_starts(seg)
                start = bisect_left(starts, offset)
            result.add((seg, start, start + size))
        self.spans_cache[key] = result
        return result


class Matcher:
    """Matches a document against many queries at once; see the module docstring."""

    def __init__(self, queries: Sequence[Node]) -> None:
        self.queries = tuple(queries)
        self.atom_ids: dict[Atom, int] = {}
        self.fields_used: set[str] = set()
        usage: list[int] = []
        for query in self.queries:
            ids: set[int] = set()
            for term in terms(query, positive=False):
                atom = self.atom_ids.setdefault(term.atom, len(self.atom_ids))
                if atom == len(usage):
                    usage.append(0)
                ids.add(atom)
                self.fields_used.update(term.fields)
            for atom in ids:
                usage[atom] += 1
        self.usage = usage
        self.sizes = [0] * len(self.atom_ids)
        self.lengths = [0] * len(self.atom_ids)
        self.automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        for (words, prefix), atom in self.atom_ids.items():
            pattern = " " + " ".join(words) + ("" if prefix else " ")
            self.automaton.add_word(pattern, atom)
            self.sizes[atom], self.lengths[atom] = len(words), len(pattern)
        if self.atom_ids:
            self.automaton.make_automaton()
        compiler = Compiler(self.atom_ids, self.usage)
        # Identical queries (many users watching the same company) are one group: evaluated
        # and explained once per document.
        group_ids: dict[Node, int] = {}
        self.group_of: list[int] = [group_ids.setdefault(query, len(group_ids)) for query in self.queries]
        self.members: list[list[int]] = [[] for _ in group_ids]
        for index, group in enumerate(self.group_of):
            self.members[group].append(index)
        self.roots: list[Truth] = []
        self.postings: dict[int, list[int]] = {}
        self.always: list[int] = []
        self.seconds: list[frozenset[int] | None] = []
        for group, query in enumerate(group_ids):
            self.roots.append(compiler.compile(query).truth)
            clauses = sorted(set(compiler.clauses(query)))
            anchor = clauses[0] if clauses else None
            # A second required clause, tested with one set operation before the checks.
            self.seconds.append(clauses[1][1] if len(clauses) > 1 else None)
            if anchor is None:
                self.always.append(group)
            else:
                for atom in anchor[1]:
                    self.postings.setdefault(atom, []).append(group)
        compiler.clear()
        self._anchors = set(self.postings)
        self._positive: dict[int, tuple[tuple[Term, int], ...]] = {}

    def __getstate__(self) -> dict[str, object]:  # pickled as is (``monitor.watch.cache``), memo aside
        return {**self.__dict__, "_positive": {}}

    def positive_terms(self, group: int) -> tuple[tuple[Term, int], ...]:
        """The distinct terms outside ``NOT`` of a group's query, with their atom ids."""
        found = self._positive.get(group)
        if found is None:
            query = self.queries[self.members[group][0]]
            unique = dict.fromkeys(terms(query))
            found = self._positive[group] = tuple((term, self.atom_ids[term.atom]) for term in unique)
        return found

    def match(self, doc: Document) -> MatchResult:
        """The indexes of every matching query, in order, with their hits on demand."""
        context = _Context(self, doc)
        found: set[int] = set()
        for hits in context.hits:
            if hits:
                found.update(map(_second, hits))
        candidates: set[int] = set(self.always)
        postings = self.postings
        for atom in found & self._anchors:
            candidates.update(postings[atom])
        roots, seconds = self.roots, self.seconds
        matched: list[int] = []
        for group in candidates:
            second = seconds[group]
            if (second is None or not found.isdisjoint(second)) and roots[group](context):
                matched.append(group)
        matched.sort()
        return MatchResult(matched, self, context)
