"""Archive search: the rule language over stored articles (``monitor search``, the desk's search box).

Two steps. The database's full-text index (``monitor.store.fulltext``: SQLite FTS5 or
PostgreSQL ``tsvector``) narrows the archive to the articles that hold the query's
required words; then the real matcher (``monitor.watch.rules.RuleSet``) runs over those,
newest first, so the results mean exactly what the same query means in a rule (``NOT``,
``NEAR``, fields, entities, prefixes). A query part the index cannot express (a ``NOT``,
an ``author:``/``url:``/``source:`` term, a non-ASCII word) only widens the candidates,
never narrows them, so nothing the matcher would find is lost.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from monitor.errors import MonitorError
from monitor.matching.query import QuerySyntaxError, caret, parse
from monitor.matching.tree import And, Near, Node, Not, Term
from monitor.store.fulltext import AllOf, AnyOf, Clause, Words, candidate_ids, has_index, words_only
from monitor.store.models import ArticleRow
from monitor.watch.rules import Rule, RuleSet

BATCH = 400  # candidates loaded and matched at a time
MAX_SCAN = 20_000  # candidates matched before a search stops and offers "more"
INDEXED_FIELDS = frozenset({"title", "body"})


class SearchError(MonitorError):
    """A search query that does not parse; raised by ``search``, in ``query:1:COL:`` form."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A stored article the query matches, with the passage that matched."""

    article: ArticleRow
    snippet: str
    terms: tuple[str, ...]


@dataclass(slots=True)
class SearchResult:
    """The hits, newest first, and how the search went."""

    query: str
    hits: list[SearchHit] = field(default_factory=list)
    scanned: int = 0  # candidates the matcher read
    indexed: bool = False  # whether the full-text index narrowed the candidates
    more_before: int | None = None  # pass as ``before`` to continue; None when the archive is done
    seconds: float = 0.0


def prefilter(node: Node) -> Clause | None:
    """What an article must contain for ``node`` to match, as an index query; ``None``: anything."""
    if isinstance(node, Term):
        if set(node.fields) <= INDEXED_FIELDS and node.words and words_only(node.words):
            return Words(node.words, node.prefix)
        return None
    if isinstance(node, Not):
        return None
    if isinstance(node, Near):
        return _all([prefilter(node.left), prefilter(node.right)])
    if isinstance(node, And):
        return _all([prefilter(child) for child in node.children])
    parts = [prefilter(child) for child in node.children]
    if any(part is None for part in parts):
        return None
    kept = [part for part in parts if part is not None]
    return kept[0] if len(kept) == 1 else AnyOf(tuple(kept))


def _all(parts: Sequence[Clause | None]) -> Clause | None:
    kept = [part for part in parts if part is not None]
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else AllOf(tuple(kept))


def compile_query(query: str, entities: Mapping[str, Sequence[str]]) -> tuple[RuleSet, Clause | None]:
    """The query as a one-rule matcher and its index pre-filter; ``SearchError`` if it does not parse."""
    try:
        node = parse(query, entities, require_positive=True)
    except QuerySyntaxError as exc:
        raise SearchError(f"query:1:{exc.column}: {exc.message}\n{caret(query, exc.column)}") from None
    return RuleSet([Rule("search", query)], entities), prefilter(node)


def search(
    session: Session,
    query: str,
    entities: Mapping[str, Sequence[str]] | None = None,
    *,
    source: str | None = None,
    language: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    limit: int = 50,
    max_scan: int = MAX_SCAN,
) -> SearchResult:
    """The stored articles ``query`` matches, newest (highest id) first, below id ``before``."""
    started = time.perf_counter()
    rules, clause = compile_query(query, entities or {})
    result = SearchResult(query, indexed=clause is not None and has_index(session))
    cursor = before
    while len(result.hits) < limit and result.scanned < max_scan:
        if result.indexed and clause is not None:
            ids = candidate_ids(session, clause, cursor, BATCH)
            exhausted = len(ids) < BATCH
            rows = _rows(session, ArticleRow.id.in_(ids), source, language, since, until) if ids else []
        else:
            below = ArticleRow.id < cursor if cursor is not None else true()
            rows = _rows(session, below, source, language, since, until, BATCH)
            ids = [row.id for row in rows]
            exhausted = len(rows) < BATCH
        for row in rows:
            result.scanned += 1
            found = rules.match(row.article())
            if found:
                result.hits.append(SearchHit(row, found[0].snippet, found[0].terms))
                if len(result.hits) == limit:
                    cursor = row.id
                    break
        else:
            cursor = min(ids) if ids else cursor
            if exhausted:
                cursor = None
                break
    result.more_before = cursor
    result.seconds = time.perf_counter() - started
    return result


def _rows(
    session: Session,
    where: object,
    source: str | None,
    language: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int | None = None,
) -> list[ArticleRow]:
    statement = select(ArticleRow).where(where).order_by(ArticleRow.id.desc())  # type: ignore[arg-type]
    if source:
        statement = statement.where(ArticleRow.source == source)
    if language:
        statement = statement.where(ArticleRow.language == language)
    if since:
        statement = statement.where(ArticleRow.fetched_at >= since)
    if until:
        statement = statement.where(ArticleRow.fetched_at < until)
    if limit:
        statement = statement.limit(limit)
    return list(session.scalars(statement))
