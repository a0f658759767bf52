"""The query tree that the parser builds and both evaluators walk.

Field scopes and entities are resolved by the parser: every ``Term`` carries the fields
it may hit in, and ``@Daimler`` becomes an ``Or`` of its alias terms. The evaluators then
need to know only five node kinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A term's identity for scanning: its normalised words and whether the last is a prefix.
Atom = tuple[tuple[str, ...], bool]


@dataclass(frozen=True, slots=True)
class Term:
    """A word, a phrase or a prefix (``partner*``): consecutive words in one of ``fields``."""

    words: tuple[str, ...]
    prefix: bool
    fields: tuple[str, ...]
    text: str  # as the user wrote it (an alias for an entity), for explanations
    column: int = field(default=0, compare=False)  # 1-based in the query, for messages only
    entity: str = ""  # the entity name when this term is one of its aliases
    atom: Atom = field(init=False, compare=False, repr=False)  # what the scanner looks for
    _hash: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "atom", (self.words, self.prefix))
        # Terms key the dicts that explanations build per match: hash them once.
        key = (self.words, self.prefix, self.fields, self.text, self.entity)
        object.__setattr__(self, "_hash", hash(key))

    def __hash__(self) -> int:
        return self._hash

    # Pickled (``monitor.watch.cache``) without ``_hash``: ``str`` hashes differ from one
    # process to the next, so an unpickled term recomputes it through ``__post_init__``.
    def __reduce__(self) -> tuple[type[Term], tuple[object, ...]]:
        return Term, (self.words, self.prefix, self.fields, self.text, self.column, self.entity)


@dataclass(frozen=True, slots=True)
class And:
    """Every child must match."""

    children: tuple[Node, ...]

    def __reduce__(self) -> tuple[type[And], tuple[object, ...]]:  # faster than dataclass's
        return And, (self.children,)


@dataclass(frozen=True, slots=True)
class Or:
    """At least one child must match."""

    children: tuple[Node, ...]

    def __reduce__(self) -> tuple[type[Or], tuple[object, ...]]:  # faster than dataclass's
        return Or, (self.children,)


@dataclass(frozen=True, slots=True)
class Not:
    """The child must not match."""

    child: Node

    def __reduce__(self) -> tuple[type[Not], tuple[object, ...]]:  # faster than dataclass's
        return Not, (self.child,)


@dataclass(frozen=True, slots=True)
class Near:
    """Two positional sides within ``distance`` words (words between them), in one field.

    ``ordered`` (``ONEAR``) requires the left side to end before the right side starts.
    """

    left: Node
    right: Node
    distance: int
    ordered: bool = False

    def __reduce__(self) -> tuple[type[Near], tuple[object, ...]]:  # faster than dataclass's
        return Near, (self.left, self.right, self.distance, self.ordered)


Node = Term | And | Or | Not | Near


def is_positional(node: Node) -> bool:
    """True when the node has positions: terms, ``Near``, and ``Or`` of positional nodes."""
    if isinstance(node, Term | Near):
        return True
    if isinstance(node, Or):
        return all(is_positional(child) for child in node.children)
    return False


def terms(node: Node, positive: bool = True) -> list[Term]:
    """Every term of the query in query order; only those outside a ``Not`` if ``positive``."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return [] if positive else terms(node.child, positive)
    if isinstance(node, Near):
        return terms(node.left, positive) + terms(node.right, positive)
    return [term for child in node.children for term in terms(child, positive)]


def render(node: Node) -> str:
    """A canonical text form of the tree (debugging, test failure messages)."""
    if isinstance(node, Term):
        text = " ".join(node.words) + ("*" if node.prefix else "")
        text = f'"{text}"' if len(node.words) > 1 else text
        return f"{'|'.join(node.fields)}:{text}"
    if isinstance(node, Not):
        return f"NOT {render(node.child)}"
    if isinstance(node, Near):
        op = "ONEAR" if node.ordered else "NEAR"
        return f"({render(node.left)} {op}/{node.distance} {render(node.right)})"
    op = " AND " if isinstance(node, And) else " OR "
    return "(" + op.join(render(child) for child in node.children) + ")"
