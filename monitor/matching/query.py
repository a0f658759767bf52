"""The watch-rule query language: tokenizer and parser from text to a ``tree.Node``.

Precedence, tightest first: field scope and ``-``/``NOT``, then ``NEAR/n``/``ONEAR/n``, then
``AND`` (a space between two terms is an ``AND``), then ``OR``. Operators are written in
capitals; a lowercase ``and``/``or``/``not`` is refused rather than silently searched as a
word, because that is the commonest way a query means something else than it says.
Errors are ``QuerySyntaxError(message, column)``; ``caret`` renders the query with a ``^``
under the column, in the style of a compiler message.

A query is at most ``MAX_LENGTH`` characters and nests at most ``MAX_DEPTH`` levels: each
``(``, ``NOT``/``-``, ``NEAR``/``ONEAR`` and each word after the first of a ``"phrase"~n``
goes one level deeper (``And``/``Or`` count too). The parser, the evaluators, the compiler
and pickling all walk the tree recursively; checking the depth here, once per query, keeps
them all far from Python's recursion limit without costing anything per article.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from monitor.errors import quoted
from monitor.matching.text import DEFAULT_FIELDS, FIELDS, words
from monitor.matching.tree import And, Near, Node, Not, Or, Term, is_positional

MAX_DISTANCE = 1000
MAX_LENGTH = 10_000  # characters in one query
MAX_DEPTH = 50  # levels of nesting in one query (see above)
MIN_PREFIX = 3
_QUOTES = '"\u201c\u201d'
_SPECIAL = "()" + _QUOTES
_OPERATORS = ("AND", "OR", "NOT")
_NEAR = re.compile(r"^(O?NEAR)(?:/(.*))?$", re.IGNORECASE)
_FIELD = re.compile(r"^([A-Za-z]+):")


class QuerySyntaxError(ValueError):
    """A query that cannot be parsed; ``column`` is 1-based within the query text."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


CARET_WIDTH = 100  # characters of a long query shown around the error


def caret(query: str, column: int, indent: str = "    ") -> str:
    """The query on one line and a ``^`` under ``column`` (1-based), both indented.

    A query longer than ``CARET_WIDTH`` is shown only around the column, cut with ``…``:
    an error message must not repeat a 10,000-character query.
    """
    at = max(column, 1) - 1
    if len(query) > CARET_WIDTH:
        start = max(0, min(at - CARET_WIDTH // 2, len(query) - CARET_WIDTH))
        head = "…" if start else ""
        tail = "…" if start + CARET_WIDTH < len(query) else ""
        query, at = head + query[start : start + CARET_WIDTH] + tail, at - start + len(head)
    flat = query.replace("\n", " ").replace("\t", " ").rstrip()
    return f"{indent}{flat}\n{indent}{' ' * at}^"


class _Token(NamedTuple):
    kind: str  # term phrase lparen rparen op near minus field entity end
    text: str
    column: int
    distance: int = -1  # NEAR/n and "phrase"~n; -1 when absent


_SPACE = re.compile(r"\s*")
_WORD = re.compile(r'[^\s()"\u201c\u201d]+')
_CLOSE_QUOTE = re.compile(r'["\u201c\u201d]')
_SLOP = re.compile(r"~(\d+)?")


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    n = len(query)
    i = _SPACE.match(query).end()  # type: ignore[union-attr]  # \s* always matches
    while i < n:
        ch = query[i]
        column = i + 1
        if ch == "(" or ch == ")":
            tokens.append(_Token("lparen" if ch == "(" else "rparen", ch, column))
            i += 1
        elif ch == "-":
            if i + 1 >= n or query[i + 1].isspace() or query[i + 1] in "-)":
                raise QuerySyntaxError("'-' must be followed by the term to exclude, as in -formula", column)
            tokens.append(_Token("minus", "-", column))
            i += 1
        elif ch in _QUOTES:
            close = _CLOSE_QUOTE.search(query, i + 1)
            if close is None:
                raise QuerySyntaxError("unbalanced quote: this '\"' is never closed", column)
            end = close.start()
            i = end + 1
            distance = -1
            slop = _SLOP.match(query, i)
            if slop is not None:
                if slop.group(1) is None:
                    raise QuerySyntaxError("'~' needs a number of words, as in \"a b\"~5", i + 1)
                distance = _distance(slop.group(1), i + 1)
                i = slop.end()
            tokens.append(_Token("phrase", query[column:end], column, distance))
        else:
            j = _WORD.match(query, i).end()  # type: ignore[union-attr]  # ch is a word character
            resume = _word_token(query[i:j], column, tokens)
            i = j if resume < 0 else resume
        i = _SPACE.match(query, i).end()  # type: ignore[union-attr]
    tokens.append(_Token("end", "", n + 1))
    return tokens


def _word_token(word: str, column: int, tokens: list[_Token]) -> int:
    """Classify one space-delimited word; return where lexing continues (-1: after it)."""
    if word.isalnum() and word.upper() not in _OPERATORS and word.upper() not in ("NEAR", "ONEAR"):
        tokens.append(_Token("term", word, column))  # the common case, without the regexes below
        return -1
    if word in _OPERATORS:
        tokens.append(_Token("op", word, column))
        return -1
    if word.upper() in _OPERATORS:
        raise QuerySyntaxError(
            f"lowercase {word!r} would be searched as a word; write {word.upper()} for the operator"
            f' or "{word}" to search for the word',
            column,
        )
    near = _NEAR.match(word)
    if near:
        name, number = near.group(1), near.group(2)
        if name != name.upper():
            if number is None:
                tokens.append(_Token("term", word, column))  # the word "near"
                return -1
            raise QuerySyntaxError(f"write {name.upper()}/{number[:12]} in capitals", column)
        if number is None or not number.isdigit():
            raise QuerySyntaxError(f"{name} needs a number of words, as in {name}/5", column)
        tokens.append(_Token("near", name, column, _distance(number, column + len(name) + 1)))
        return -1
    field = _FIELD.match(word)
    if field and not word.startswith(("http:", "https:")):
        tokens.append(_Token("field", field.group(1), column))
        return column - 1 + field.end()
    if word.startswith("@"):
        tokens.append(_Token("entity", word[1:], column))
        return -1
    if "~" in word:
        raise QuerySyntaxError('\'~\' works only after a "phrase", as in "a b"~5', column + word.index("~"))
    tokens.append(_Token("term", word, column))
    return -1


def _distance(number: str, column: int) -> int:
    value = int(number)
    if value > MAX_DISTANCE:
        raise QuerySyntaxError(f"a distance can be at most {MAX_DISTANCE} words", column)
    return value


def term_words(text: str, column: int) -> tuple[tuple[str, ...], bool]:
    """Normalised words of a bare term and whether it ends in a ``*`` prefix wildcard."""
    prefix = text.endswith("*")
    core = text[:-1] if prefix else text
    if "*" in core:
        raise QuerySyntaxError(
            "a wildcard works only at the end of a word, as in partner*", column + core.index("*")
        )
    found = tuple(words(core))
    if not found:
        raise QuerySyntaxError(f"{quoted(text)} has no letters or digits to search for", column)
    if prefix and (len(found[-1]) < MIN_PREFIX or not core[-1:].isalnum()):
        raise QuerySyntaxError(
            f"a wildcard needs at least {MIN_PREFIX} letters before '*', as in partner*",
            column + len(core),
        )
    return found, prefix


class Entities:
    """Entity definitions (name → alias texts), looked up case-insensitively; shared parse state.

    One ``Entities`` serves every query of a rule set. It also interns nodes: equal subtrees
    (the expansion of ``@Daimler``, a topic list pasted into many rules) become one object,
    which keeps 100,000 rules small and lets the bulk matcher compile each subtree once.
    """

    def __init__(self, entities: Mapping[str, Sequence[str]] | None = None) -> None:
        self.names = {name.casefold(): (name, tuple(aliases)) for name, aliases in (entities or {}).items()}
        self._expanded: dict[tuple[str, tuple[str, ...]], Node] = {}
        self._nodes: dict[Node, Node] = {}

    def intern(self, node: Node) -> Node:
        """The one shared object equal to ``node``."""
        return self._nodes.setdefault(node, node)

    def expand(self, token_text: str, fields: tuple[str, ...], column: int) -> Node:
        """The ``Or`` of the aliases of ``@token_text``; ``QuerySyntaxError`` if unknown."""
        folded = token_text.casefold()
        key = (folded, fields)
        node = self._expanded.get(key)
        if node is not None:
            return node
        found = self.names.get(folded)
        if found is None:
            names = [name for name, _ in self.names.values()]
            close = difflib.get_close_matches(token_text, names, n=1)
            hint = f" (did you mean '@{close[0]}'?)" if close else ""
            raise QuerySyntaxError(f"unknown entity {quoted('@' + token_text)}{hint}", column)
        name, aliases = found
        if not aliases:
            raise QuerySyntaxError(f"entity '@{name}' has no aliases", column)
        children: list[Node] = []
        for alias in aliases:
            alias_words, prefix = term_words(alias, column)
            children.append(self.intern(Term(alias_words, prefix, fields, alias, 0, entity=name)))
        node = self._expanded[key] = self.intern(_flat(Or, children))
        return node


def _too_deep(column: int) -> QuerySyntaxError:
    return QuerySyntaxError(
        f"query nested deeper than {MAX_DEPTH} levels (each '(', NOT, NEAR and each word of a"
        ' "phrase"~n adds one); split it into simpler rules',
        column,
    )


class _Parser:
    """Recursive descent; ``nesting`` bounds its own recursion, ``depths`` the tree's depth."""

    def __init__(self, query: str, entities: Entities) -> None:
        self.tokens = _tokenize(query)
        self.pos = 0
        self.entities = entities
        self.nesting = 0  # open parentheses and NOTs around the current token
        self.depths: dict[int, int] = {}  # id of a node built here → bound on its depth

    def depth(self, node: Node) -> int:
        """An upper bound on the depth of ``node`` (1 for a term)."""
        return self.depths.get(id(node), 1)

    def made(self, node: Node, depth: int, column: int) -> Node:
        """Intern ``node``, whose depth is at most ``depth``; refuse it if that is too deep."""
        if depth > MAX_DEPTH:
            raise _too_deep(column)
        node = self.entities.intern(node)
        self.depths[id(node)] = max(depth, self.depths.get(id(node), 1))
        return node

    def nest(self, column: int) -> None:
        """Enter a '(' or NOT at ``column``: one more level of the parser's recursion."""
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise _too_deep(column)

    @property
    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Node:
        if self.peek.kind == "end":
            raise QuerySyntaxError("empty query", 1)
        node = self.or_expr(DEFAULT_FIELDS)
        token = self.peek
        if token.kind == "rparen":
            raise QuerySyntaxError("unbalanced parenthesis: this ')' has no matching '('", token.column)
        assert token.kind == "end", token
        return node

    def or_expr(self, fields: tuple[str, ...]) -> Node:
        column = self.peek.column
        children = [self.and_expr(fields)]
        while self.peek.kind == "op" and self.peek.text == "OR":
            self.take()
            children.append(self.and_expr(fields, after="OR"))
        return self.group(Or, children, column)

    def group(self, kind: type[And] | type[Or], children: list[Node], column: int) -> Node:
        if len(children) == 1:
            return children[0]
        return self.made(_flat(kind, children), 1 + max(map(self.depth, children)), column)

    def and_expr(self, fields: tuple[str, ...], after: str = "") -> Node:
        column = self.peek.column
        children = [self.near_expr(fields, after)]
        while True:
            token = self.peek
            if token.kind == "op" and token.text == "AND":
                self.take()
                children.append(self.near_expr(fields, after="AND"))
            elif token.kind in ("term", "phrase", "lparen", "minus", "entity", "field") or (
                token.kind == "op" and token.text == "NOT"
            ):
                children.append(self.near_expr(fields))
            else:
                return self.group(And, children, column)

    def near_expr(self, fields: tuple[str, ...], after: str = "") -> Node:
        left_at = self.peek
        node = self.unary(fields, after)
        while self.peek.kind == "near":
            op = self.take()
            right_at = self.peek
            right = self.unary(fields, after=f"{op.text}/{op.distance}")
            _check_near_side(node, left_at, op)
            _check_near_side(right, right_at, op)
            depth = 1 + max(self.depth(node), self.depth(right))
            node = self.made(Near(node, right, op.distance, ordered=op.text == "ONEAR"), depth, op.column)
        return node

    def unary(self, fields: tuple[str, ...], after: str = "") -> Node:
        token = self.peek
        if (token.kind == "op" and token.text == "NOT") or token.kind == "minus":
            self.take()
            self.nest(token.column)
            child = self.unary(fields, after="NOT" if token.kind == "op" else "-")
            self.nesting -= 1
            return self.made(Not(child), 1 + self.depth(child), token.column)
        return self.primary(fields, after)

    def primary(self, fields: tuple[str, ...], after: str) -> Node:
        token = self.take()
        if token.kind == "term":
            found, prefix = term_words(token.text, token.column)
            return self.entities.intern(Term(found, prefix, fields, token.text, token.column))
        if token.kind == "phrase":
            return self.phrase(token, fields)
        if token.kind == "lparen":
            if self.peek.kind == "rparen":
                raise QuerySyntaxError("empty parentheses", token.column)
            if self.peek.kind == "end":
                raise QuerySyntaxError("unbalanced parenthesis: this '(' is never closed", token.column)
            self.nest(token.column)
            node = self.or_expr(fields)
            self.nesting -= 1
            if self.peek.kind != "rparen":
                raise QuerySyntaxError("unbalanced parenthesis: this '(' is never closed", token.column)
            self.take()
            return node
        if token.kind == "field":
            return self.field(token)
        if token.kind == "entity":
            return self.entity(token, fields)
        raise self.missing(token, after)

    def phrase(self, token: _Token, fields: tuple[str, ...]) -> Node:
        found = tuple(words(token.text))
        if not found:
            raise QuerySyntaxError(
                "empty phrase: there are no letters or digits between the quotes", token.column
            )
        if token.distance < 0 or len(found) == 1:
            return self.entities.intern(Term(found, False, fields, token.text, token.column))
        # "a b c"~n is shorthand for a NEAR/n b NEAR/n c: each word within n of what came before.
        intern = self.entities.intern
        node: Node = intern(Term(found[:1], False, fields, found[0], token.column))
        for depth, word in enumerate(found[1:], start=2):
            right = intern(Term((word,), False, fields, word, token.column))
            node = self.made(Near(node, right, token.distance), depth, token.column)
        return node

    def field(self, token: _Token) -> Node:
        name = token.text.lower()
        if name not in FIELDS:
            close = difflib.get_close_matches(name, FIELDS, n=1)
            hint = f" (did you mean '{close[0]}:'?)" if close else ""
            raise QuerySyntaxError(
                f"unknown field {quoted(token.text + ':')}{hint}; fields are {', '.join(FIELDS)}",
                token.column,
            )
        nxt = self.peek
        if (
            nxt.kind not in ("term", "phrase", "lparen", "entity")
            or nxt.column != token.column + len(name) + 1
        ):
            raise QuerySyntaxError(
                f'{quoted(token.text + ":")} needs a term, "phrase" or (group) right after the colon',
                token.column,
            )
        return self.primary((name,), after=f"{name}:")

    def entity(self, token: _Token, fields: tuple[str, ...]) -> Node:
        if not token.text:
            raise QuerySyntaxError("'@' needs an entity name, as in @Daimler", token.column)
        node = self.entities.expand(token.text, fields, token.column)
        self.depths[id(node)] = 2  # an OR of alias terms
        return node

    def missing(self, token: _Token, after: str) -> QuerySyntaxError:
        """The error for a token where a term was expected, named after what came before."""
        if token.kind == "end":
            return QuerySyntaxError(f"{after} at end of query" if after else "empty query", token.column)
        if token.kind == "rparen":
            if after:
                return QuerySyntaxError(f"{after} needs a term before this ')'", token.column)
            return QuerySyntaxError("unbalanced parenthesis: this ')' has no matching '('", token.column)
        what = token.text if token.kind == "op" else f"{token.text}/{token.distance}"
        if after:
            return QuerySyntaxError(f"{what} right after {after}", token.column)
        return QuerySyntaxError(
            f"{what} at start of query" if self.pos == 1 else f"{what} needs a term on its left", token.column
        )


def _check_near_side(node: Node, token: _Token, op: _Token) -> None:
    if not is_positional(node):
        raise QuerySyntaxError(
            f"{op.text} works on terms, phrases and OR groups; this side has AND or NOT"
            " (quote words that belong together)",
            token.column,
        )


def _flat(kind: type[And] | type[Or], children: list[Node]) -> Node:
    if len(children) == 1:
        return children[0]
    flat: list[Node] = []
    for child in children:
        flat.extend(child.children if isinstance(child, kind) else (child,))
    return kind(tuple(flat))


def can_match_without_terms(node: Node) -> bool:
    """True if an article holding none of the query's terms could match (``NOT x`` alone)."""
    if isinstance(node, Term | Near):
        return False
    if isinstance(node, Not):
        return True
    if isinstance(node, And):
        return all(can_match_without_terms(child) for child in node.children)
    return any(can_match_without_terms(child) for child in node.children)


def parse(
    query: str,
    entities: Entities | Mapping[str, Sequence[str]] | None = None,
    require_positive: bool = False,
) -> Node:
    """Parse ``query``; raise ``QuerySyntaxError`` with a plain sentence and a column.

    ``entities`` maps names used as ``@Name`` (case-insensitively) to alias texts; pass one
    ``Entities`` when parsing many queries so their expansions are shared.
    ``require_positive`` refuses queries that would match articles lacking all their terms,
    which for a watch rule means alerting on nearly everything.
    """
    if len(query) > MAX_LENGTH:
        raise QuerySyntaxError(
            f"query is too long: {len(query):,} characters, the limit is {MAX_LENGTH:,}", MAX_LENGTH + 1
        )
    table = entities if isinstance(entities, Entities) else Entities(entities)
    node = _Parser(query, table).parse()
    if require_positive and can_match_without_terms(node):
        raise QuerySyntaxError(
            "this query matches articles that contain none of its terms; add a term that must appear",
            1,
        )
    return node
