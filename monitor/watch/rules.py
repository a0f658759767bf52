"""Watch rules: load ``rules/*.yaml`` into ``Rule``s and match articles against all of them.

A rules file is a mapping with a ``rules:`` list and an optional ``entities:`` map (name →
aliases) that any rule in any file can use as ``@Name``. Loading collects every error in
compiler form, ``file:line:col: message``; a file with any error contributes no rules, so a
half-read file never runs. The query language lives in ``monitor.matching``.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from itertools import repeat
from operator import attrgetter, itemgetter
from pathlib import Path

from monitor.article import Article
from monitor.errors import ConfigError
from monitor.matching import explain as _explain
from monitor.matching.compiled import Matcher
from monitor.matching.query import Entities, QuerySyntaxError, parse
from monitor.matching.text import Document
from monitor.matching.tree import Node
from monitor.watch.rulefile import MODES, query_error, read_rule_files

__all__ = ["MODES", "Rule", "RuleMatch", "RuleSet", "explain", "keep_last_good", "load_rules", "reload_rules"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One watch rule as written in a rules file."""

    name: str
    query: str
    channels: tuple[str, ...] = ()  # empty: every configured channel
    sources: tuple[str, ...] = ()  # empty: every source
    languages: tuple[str, ...] = ()  # empty: every language
    mode: str = "instant"
    min_mentions: int = 1
    path: str = ""
    line: int = 0
    max_per_hour: int | None = None  # instant alerts per channel and hour; the rest go to a digest
    schedule: str | None = None  # cron of an hourly/daily/weekly digest, replacing its default

    def __post_init__(self) -> None:
        for name in ("channels", "sources", "languages"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, (value,))
            elif not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        if self.mode not in MODES:
            raise ValueError(f"Rule.mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.min_mentions < 1:
            raise ValueError(f"Rule.min_mentions must be at least 1, got {self.min_mentions}")

    # Pickled in compiled rule sets (``monitor.watch.cache``). The dataclass's own
    # ``__setstate__`` looks up the fields again for every rule: twice as slow.
    def __getstate__(self) -> tuple[object, ...]:
        return _rule_state(self)

    def __setstate__(self, state: tuple[object, ...]) -> None:
        for setter, value in zip(_RULE_SETTERS, state, strict=True):
            setter(self, value)


_RULE_FIELDS = tuple(item.name for item in fields(Rule))
_rule_state = attrgetter(*_RULE_FIELDS)
_RULE_SETTERS = tuple(Rule.__dict__[name].__set__ for name in _RULE_FIELDS)


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """A rule that matched an article, with what it found there."""

    rule: Rule
    terms: tuple[str, ...]  # the query terms that hit
    snippet: str  # the passage that matched, hits wrapped in **double stars**
    mentions: int = field(default=0, compare=False)  # distinct places the query's terms hit
    evidence: _explain.Evidence | None = field(default=None, compare=False, repr=False)

    @property
    def hits(self) -> tuple[_explain.Hit, ...]:
        """Every hit of the query's terms (field, character offsets, text), in document order."""
        return self.evidence.hits() if self.evidence is not None else ()


class RuleSet:
    """Every loaded rule, compiled once into one bulk matcher."""

    def __init__(
        self, rules: Iterable[Rule] = (), entities: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.entities: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in (entities or {}).items()}
        # Building allocates millions of small acyclic objects; the cyclic garbage collector
        # would walk all of them again and again (half the build time at 100,000 rules).
        collecting = gc.isenabled()
        gc.disable()
        try:
            table = Entities(self.entities)
            queries: list[Node] = []
            for rule in self.rules:
                try:
                    queries.append(parse(rule.query, table, require_positive=True))
                except QuerySyntaxError as exc:
                    raise query_error(exc, rule.query, rule.path, rule.line, 0) from None
            self.queries: tuple[Node, ...] = tuple(queries)
            self._matcher = Matcher(queries)
            # Identical queries form one group in the matcher: explained once per article.
            self._members = self._matcher.members
            self._rules_of = [tuple(self.rules[i] for i in members) for members in self._members]
            self._plain = {
                group
                for group, rules_of in enumerate(self._rules_of)
                if all(not r.sources and not r.languages and r.min_mentions == 1 for r in rules_of)
            }
            # A big build (hundreds of thousands of objects, all still young because the
            # collector was off) is moved to the oldest generation now, in one pass, rather
            # than walked again and again during the first matches. Small builds skip it.
            if collecting and gc.get_count()[0] > 200_000:
                gc.collect()
        finally:
            if collecting:
                gc.enable()

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def get(self, name: str) -> Rule | None:
        """The rule called ``name``, if loaded."""
        return next((rule for rule in self.rules if rule.name == name), None)

    def match(self, article: Article) -> list[RuleMatch]:
        """Every rule that matches ``article`` in rule order, honouring its filters.

        An article whose language is unknown passes a ``languages`` filter: a missed story
        costs more than a stray alert.
        """
        doc = Document.from_article(article)
        result = self._matcher.match(doc)
        chunks: list[tuple[Sequence[int], list[RuleMatch]]] = []
        for group in result.groups:
            found = result.found_group(group)
            why = (
                _explain.terms_hit(found),
                _explain.snippet(found, doc),
                _explain.count(found),
                _explain.Evidence(found, doc),
            )
            indexes = self._members[group]
            if group in self._plain:  # no filters, min_mentions 1: every member matches
                chunks.append((indexes, _new_matches(self._rules_of[group], *why)))
                continue
            rules = self.rules
            kept = [i for i in indexes if _accepts(rules[i], article) and why[2] >= rules[i].min_mentions]
            chunks.append((kept, _new_matches([rules[i] for i in kept], *why)))
        if len(chunks) == 1:
            return chunks[0][1]
        pairs: list[tuple[int, RuleMatch]] = []
        for kept_indexes, matches in chunks:
            pairs.extend(zip(kept_indexes, matches, strict=True))
        pairs.sort(key=itemgetter(0))
        return list(map(itemgetter(1), pairs))


_make = object.__new__
_set_rule, _set_terms, _set_snippet, _set_mentions, _set_evidence = (
    RuleMatch.__dict__[name].__set__ for name in ("rule", "terms", "snippet", "mentions", "evidence")
)


def _new_matches(
    rules: Sequence[Rule], terms: tuple[str, ...], snippet: str, mentions: int, evidence: _explain.Evidence
) -> list[RuleMatch]:
    """``[RuleMatch(rule, terms, snippet, mentions, evidence) for rule in rules]``, faster.

    A popular query can match hundreds of rules per article, and the frozen dataclass
    ``__init__`` sets each field through ``object.__setattr__``. Filling the slots with
    ``map`` over their descriptors does the same in C, without a Python frame per match.
    """
    count = len(rules)
    matches: list[RuleMatch] = list(map(_make, repeat(RuleMatch, count)))
    deque(map(_set_rule, matches, rules), 0)
    for setter, value in (
        (_set_terms, terms),
        (_set_snippet, snippet),
        (_set_mentions, mentions),
        (_set_evidence, evidence),
    ):
        deque(map(setter, matches, repeat(value, count)), 0)
    return matches


def _accepts(rule: Rule, article: Article) -> bool:
    if rule.sources and article.source not in rule.sources:
        return False
    return not rule.languages or article.language is None or article.language in rule.languages


def explain(match: RuleMatch) -> str:
    """A human-readable account of why ``match`` happened (``monitor match --explain``)."""
    rule = match.rule
    where = f"  ({rule.path}:{rule.line})" if rule.path else ""
    lines = [f"{rule.name}{where}", f"  query:    {' '.join(rule.query.split())}"]
    lines.append(f"  mentions: {match.mentions} (min_mentions {rule.min_mentions})")
    lines.append(f"  terms:    {', '.join(match.terms)}")
    lines.append("  hits:")
    for hit in match.hits:
        label = f"@{hit.entity} {hit.term}" if hit.entity else hit.term
        lines.append(f"    {hit.field}[{hit.start}:{hit.end}]  {label}  → {hit.text!r}")
    lines.append(f"  snippet:  {match.snippet}")
    return "\n".join(lines)


def load_rules(paths: Iterable[Path]) -> tuple[RuleSet, list[ConfigError]]:
    """Load rule files and directories; return the rules of clean files and every error.

    Directories contribute every ``*.yaml``/``*.yml`` in them, sorted. Rule names must be
    unique across all files; entities defined in any file can be used in every file.
    """
    found = read_rule_files(paths)
    return RuleSet([Rule(**fields) for fields in found.rules], found.entities), found.errors


def reload_rules(paths: Iterable[Path], previous: RuleSet) -> tuple[RuleSet, list[ConfigError]]:
    """``load_rules`` for a running monitor: a file that now has errors keeps its old rules.

    The rules ``previous`` had from each broken file (and every entity it knew) stay in
    the new set unless a clean file now defines a rule of the same name; the errors are
    returned as by ``load_rules`` so they can be reported.
    """
    fresh, errors = load_rules(paths)
    return keep_last_good(fresh, errors, previous), errors


def keep_last_good(fresh: RuleSet, errors: Sequence[ConfigError], previous: RuleSet) -> RuleSet:
    """``fresh`` plus the rules ``previous`` had from the files that ``errors`` name.

    A kept rule whose query this version refuses (a limit added since it was stored) is
    dropped rather than let it stop every other rule.
    """
    broken = {error.path for error in errors}
    names = {rule.name for rule in fresh.rules}
    kept = [rule for rule in previous.rules if rule.path in broken and rule.name not in names]
    if not kept:
        return fresh
    entities = {**previous.entities, **fresh.entities}
    return RuleSet([*fresh.rules, *usable(kept, entities)], entities)


def usable(rules: Iterable[Rule], entities: Mapping[str, Sequence[str]]) -> list[Rule]:
    """The rules whose queries parse with ``entities``: what ``RuleSet`` accepts."""
    table = Entities(entities)
    kept: list[Rule] = []
    for rule in rules:
        try:
            parse(rule.query, table, require_positive=True)
        except QuerySyntaxError:
            continue
        kept.append(rule)
    return kept
