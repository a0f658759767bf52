"""One query compiled: a truth test per node, a span getter per positional node.

The bulk matcher (``compiled.py``) evaluates only candidate queries, through checks built
here: small callables, each a ``functools.partial`` of a module function (not a closure,
so that a compiled rule set pickles: ``monitor.watch.cache``). Three things keep 100,000
rules fast and small:

- Plain terms of one field scope under an ``OR`` or ``AND`` become one set operation
  (``a OR b OR c``: the set of terms seen meets ``{a, b, c}``), so most terms never need a
  check of their own.
- Checks for a term or an ``OR`` group are built only when something asks for them (a
  ``NEAR`` side, a ``NOT``), then shared: the parser interns equal subtrees, so the
  expansion of ``@Daimler`` is compiled once for every rule that uses it.
- ``AND`` tests its rarest part first and ``OR`` its commonest, using how many rules use a
  term as a stand-in for how often articles contain it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from functools import partial
from itertools import count
from operator import itemgetter, sub
from typing import Protocol

from monitor.matching.evaluate import Span
from monitor.matching.tree import And, Atom, Near, Node, Not, Term

_second, _third = itemgetter(1), itemgetter(2)
NOT_COST = 1 << 40  # a NOT is nearly always true: test it last in an AND
NEAR_COST = 1 << 20  # positions are dearer than set look-ups


class Scan(Protocol):
    """What checks need from the per-document state of the matcher."""

    memo: dict[int, set[Span]]  # spans of shared groups, computed once per document

    def seen(self, fields: tuple[str, ...]) -> set[int]:
        """Atoms found in segments of ``fields``."""

    def term_spans(self, atom: int, fields: tuple[str, ...]) -> set[Span]:
        """Word spans of ``atom`` in segments of ``fields``."""


Truth = Callable[[Scan], bool]
Spans = Callable[[Scan], set[Span]]


class Part:
    """A compiled node. ``truth`` and ``spans`` of terms and ``OR`` groups are made on demand."""

    __slots__ = ("_spans", "_truth", "atom", "children", "cost", "fields")

    def __init__(
        self,
        cost: int,
        truth: Truth | None = None,
        spans: Spans | None = None,
        atom: int = -1,
        fields: tuple[str, ...] = (),
        children: tuple[Part, ...] | None = None,
    ) -> None:
        self.cost = cost
        self._truth = truth
        self._spans = spans
        self.atom = atom  # a term's atom id, -1 for other nodes
        self.fields = fields
        self.children = children  # an OR's parts, kept only when it is positional

    @property
    def truth(self) -> Truth:
        """The node's test: does the document match it?"""
        if self._truth is None:
            self._truth = _any_seen(frozenset((self.atom,)), self.fields)
        return self._truth

    @property
    def spans(self) -> Spans | None:
        """Where the node matches, for a ``NEAR`` above it; None if it has no positions."""
        if self._spans is None:
            if self.atom >= 0:
                self._spans = _term_spans(self.atom, self.fields)
            elif self.children is not None:
                self._spans = _union(tuple(child.spans for child in self.children))  # type: ignore[misc]
        return self._spans


class Compiler:
    """Compiles queries over one atom table, sharing the parts of shared subtrees."""

    def __init__(self, atom_ids: dict[Atom, int], usage: list[int]) -> None:
        self.atom_ids = atom_ids
        self.usage = usage
        self._parts: dict[int, Part] = {}  # by object id: the parser interns equal subtrees
        self._or_clauses: dict[int, list[tuple[int, frozenset[int]]]] = {}

    def clear(self) -> None:
        """Drop the memos once every query is compiled: checks keep what they need."""
        self._parts.clear()
        self._or_clauses.clear()

    def compile(self, node: Node) -> Part:
        """The ``Part`` for ``node``."""
        part = self._parts.get(id(node))
        if part is None:
            part = self._parts[id(node)] = self._build(node)
        return part

    def _build(self, node: Node) -> Part:
        if isinstance(node, Term):
            atom = self.atom_ids[node.atom]
            return Part(self.usage[atom], atom=atom, fields=node.fields)
        if isinstance(node, Not):
            return Part(NOT_COST, truth=partial(_negation, self.compile(node.child).truth))
        if isinstance(node, Near):
            return _near(self.compile(node.left), self.compile(node.right), node.distance, node.ordered)
        parts = [self.compile(child) for child in node.children]
        scoped: dict[tuple[str, ...], list[int]] = {}
        checks: list[tuple[Truth, int]] = []
        for part in parts:
            if part.atom >= 0:
                scoped.setdefault(part.fields, []).append(part.atom)
            else:
                checks.append((part.truth, part.cost))
        usage = self.usage
        if isinstance(node, And):
            for fields, atoms in scoped.items():
                checks.append((_all_seen(frozenset(atoms), fields), min(usage[atom] for atom in atoms)))
            checks.sort(key=itemgetter(1))  # the rarest first: most ANDs fail at once
            return Part(checks[0][1], truth=_all(tuple(check for check, _ in checks)))
        for fields, atoms in scoped.items():
            checks.append((_any_seen(frozenset(atoms), fields), sum(usage[atom] for atom in atoms)))
        checks.sort(key=itemgetter(1), reverse=True)  # the commonest first: most ORs succeed at once
        positional = all(part.atom >= 0 or part.spans is not None for part in parts)
        return Part(
            sum(part.cost for part in parts),
            truth=_any(tuple(check for check, _ in checks)),
            children=tuple(parts) if positional else None,
        )

    def clauses(self, node: Node) -> list[tuple[int, frozenset[int]]]:
        """``(cost, atoms)`` clauses that must each have an atom present for ``node`` to match.

        ``NOT`` requires nothing; an ``OR`` requires one atom of the cheapest clause of each
        child. The cost of a clause is how many rules use its atoms: rare in rules is taken
        as rare in articles. The matcher anchors each query on its cheapest clause.
        """
        if isinstance(node, Term):
            atom = self.atom_ids[node.atom]
            return [(self.usage[atom], frozenset((atom,)))]
        if isinstance(node, Not):
            return []
        if isinstance(node, Near):
            return self.clauses(node.left) + self.clauses(node.right)
        if isinstance(node, And):
            return [clause for child in node.children for clause in self.clauses(child)]
        done = self._or_clauses.get(id(node))  # ORs are the shared subtrees (entities)
        if done is not None:
            return done
        merged: set[int] = set()
        result: list[tuple[int, frozenset[int]]] = []
        for child in node.children:
            options = self.clauses(child)
            if not options:
                break
            merged.update(min(options)[1])
        else:
            result = [(sum(self.usage[atom] for atom in merged), frozenset(merged))]
        self._or_clauses[id(node)] = result
        return result


# Checks are partial applications of module functions, not closures, so that a compiled
# rule set pickles as it is (``monitor.watch.cache``); the document state comes last.


def _any_seen(atoms: frozenset[int], fields: tuple[str, ...]) -> Truth:
    if len(atoms) == 1:
        (atom,) = atoms
        return partial(_has, atom, fields)
    return partial(_meets, atoms, fields)


def _all_seen(atoms: frozenset[int], fields: tuple[str, ...]) -> Truth:
    if len(atoms) == 1:
        (atom,) = atoms
        return partial(_has, atom, fields)
    return partial(_covers, atoms, fields)


def _has(atom: int, fields: tuple[str, ...], scan: Scan) -> bool:
    return atom in scan.seen(fields)


def _meets(atoms: frozenset[int], fields: tuple[str, ...], scan: Scan) -> bool:
    return not scan.seen(fields).isdisjoint(atoms)


def _covers(atoms: frozenset[int], fields: tuple[str, ...], scan: Scan) -> bool:
    return atoms <= scan.seen(fields)


def _negation(inner: Truth, scan: Scan) -> bool:
    return not inner(scan)


def _all(checks: tuple[Truth, ...]) -> Truth:
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        return partial(_both, *checks)
    return partial(_every, checks)


def _both(first: Truth, second: Truth, scan: Scan) -> bool:
    return first(scan) and second(scan)


def _every(checks: tuple[Truth, ...], scan: Scan) -> bool:
    for check in checks:  # noqa: SIM110 - a loop is cheaper than all() over a generator
        if not check(scan):
            return False
    return True


def _any(checks: tuple[Truth, ...]) -> Truth:
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        return partial(_either, *checks)
    return partial(_some, checks)


def _either(first: Truth, second: Truth, scan: Scan) -> bool:
    return first(scan) or second(scan)


def _some(checks: tuple[Truth, ...], scan: Scan) -> bool:
    for check in checks:  # noqa: SIM110 - a loop is cheaper than any() over a generator
        if check(scan):
            return True
    return False


def _term_spans(atom: int, fields: tuple[str, ...]) -> Spans:
    return partial(_spans_of, atom, fields)


def _spans_of(atom: int, fields: tuple[str, ...], scan: Scan) -> set[Span]:
    return scan.term_spans(atom, fields)


_keys = count()


def _union(getters: tuple[Spans, ...]) -> Spans:
    # An OR group (an entity) is shared by many NEARs: its spans are built once per document.
    return partial(_union_spans, next(_keys), getters)


def _union_spans(key: int, getters: tuple[Spans, ...], scan: Scan) -> set[Span]:
    result = scan.memo.get(key)
    if result is None:
        result = scan.memo[key] = set()
        for get in getters:
            result |= get(scan)
    return result


def _near(left: Part, right: Part, distance: int, ordered: bool) -> Part:
    left_spans, right_spans = left.spans, right.spans
    # The parser allows only positional sides, which always have spans.
    assert left_spans is not None
    assert right_spans is not None
    sides = (left.truth, right.truth, left_spans, right_spans, distance, ordered)
    return Part(
        NEAR_COST + min(left.cost, right.cost),
        truth=partial(_near_truth, *sides),
        spans=partial(_near_spans, *sides),
    )


def _near_spans(
    left_truth: Truth,
    right_truth: Truth,
    left_spans: Spans,
    right_spans: Spans,
    distance: int,
    ordered: bool,
    scan: Scan,
) -> set[Span]:
    if not (left_truth(scan) and right_truth(scan)):
        return set()
    return _window_near(left_spans(scan), right_spans(scan), distance, ordered)


def _near_truth(
    left_truth: Truth,
    right_truth: Truth,
    left_spans: Spans,
    right_spans: Spans,
    distance: int,
    ordered: bool,
    scan: Scan,
) -> bool:
    if not (left_truth(scan) and right_truth(scan)):
        return False
    rights = sorted(right_spans(scan))
    reach = _longest(rights)
    size = len(rights)
    for a in left_spans(scan):
        seg, a_start, a_end = a
        # Right spans are sorted by (segment, start): start at the first within reach (see
        # ``_close``), stop once they start out of reach.
        index = bisect_left(rights, (seg, a_end if ordered else a_start - distance - reach))
        while index < size:
            b = rights[index]
            index += 1
            if b[0] != seg or b[1] > a_end + distance:
                break
            if b == a:
                continue
            if ordered:
                if a_end <= b[1]:
                    return True
            elif max(a_start, b[1]) - min(a_end, b[2]) <= distance:
                return True
    return False


def _window_near(left: set[Span], right: set[Span], distance: int, ordered: bool) -> set[Span]:
    """``evaluate.near``, looking only at the right spans within reach of each left one."""
    rights = sorted(right)
    reach = _longest(rights)
    result: set[Span] = set()
    for a in left:
        for b in _close(a, rights, reach, distance, ordered):
            result.add((a[0], min(a[1], b[1]), max(a[2], b[2])))
    return result


def _longest(spans: list[Span]) -> int:
    """The most words any of ``spans`` covers (``map`` over C getters: no Python frame per span)."""
    return max(map(sub, map(_third, spans), map(_second, spans)), default=0)


def _close(a: Span, rights: list[Span], reach: int, distance: int, ordered: bool) -> Iterator[Span]:
    """The spans of ``rights`` (sorted) that are close enough to ``a``, as ``evaluate.near`` means it.

    Linear in the spans within reach, not in all of them: a right span starting more than
    ``distance + reach`` words before ``a`` (``reach``: the longest right span) ends more than
    ``distance`` words before it, and one starting more than ``distance`` words after ``a``
    ends is too far, so the loop starts at a bisection and stops at the first such span.
    """
    seg, a_start, a_end = a
    first = a_end if ordered else a_start - distance - reach
    for index in range(bisect_left(rights, (seg, first)), len(rights)):  # no slice: that copies
        b = rights[index]
        if b[0] != seg or b[1] > a_end + distance:
            return
        if b == a:
            continue
        if ordered:
            if a_end <= b[1]:
                yield b
        elif max(a_start, b[1]) - min(a_end, b[2]) <= distance:
            yield b
