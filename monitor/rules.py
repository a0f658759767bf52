"""Watch rules: load ``rules/*.yaml`` into ``Rule``s and match articles against all of them.

A rules file is a mapping with a ``rules:`` list and an optional ``entities:`` map (name →
aliases) that any rule in any file can use as ``@Name``. Loading collects every error in
compiler form, ``file:line:col: message``; a file with any error contributes no rules, so a
half-read file never runs. The query language lives in ``monitor.matching``.
"""

from __future__ import annotations

import difflib
import gc
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from monitor.article import Article
from monitor.channels import check_cron
from monitor.errors import ConfigError, RuleError
from monitor.matching import explain as _explain
from monitor.matching.compiled import Matcher
from monitor.matching.query import Entities, QuerySyntaxError, caret, parse, term_words
from monitor.matching.text import Document
from monitor.matching.tree import Node
from monitor.yamlfile import Node as YamlNode
from monitor.yamlfile import load_yaml

MODES = ("instant", "hourly", "daily", "weekly")
_RULE_KEYS = ("name", "query", "channels", "sources", "languages", "mode", "min_mentions")
_DELIVERY_KEYS = ("max_per_hour", "schedule")  # how alerts go out: see monitor.notify.policy
_FILE_KEYS = ("rules", "entities")
_KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_ENTITY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


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
                    raise _query_error(exc, rule.query, rule.path, rule.line, 0) from None
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
        finally:
            if collecting:
                gc.enable()
        # Move what was built to the oldest generation now, in one pass, instead of during
        # the first matches (objects made with the collector off start out young).
        gc.collect()

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
                terms, snippet, count, evidence = why
                rules_of = self._rules_of[group]
                chunks.append(
                    (indexes, [_new_match(rule, terms, snippet, count, evidence) for rule in rules_of])
                )
                continue
            rules = self.rules
            kept = [i for i in indexes if _accepts(rules[i], article) and why[2] >= rules[i].min_mentions]
            chunks.append((kept, [_new_match(rules[i], *why) for i in kept]))
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


def _new_match(
    rule: Rule, terms: tuple[str, ...], snippet: str, mentions: int, evidence: _explain.Evidence
) -> RuleMatch:
    """``RuleMatch(...)`` at half the cost: the frozen dataclass ``__init__`` goes through
    ``object.__setattr__`` per field, and a popular query can match hundreds of rules."""
    match: RuleMatch = _make(RuleMatch)
    _set_rule(match, rule)
    _set_terms(match, terms)
    _set_snippet(match, snippet)
    _set_mentions(match, mentions)
    _set_evidence(match, evidence)
    return match


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
    loader = _Loader()
    for path in _expand(paths, loader.errors):
        loader.read(path)
    loader.collect_entities()
    rules: list[Rule] = []
    for document in loader.documents:
        rules.extend(loader.rules_of(document))
    return RuleSet(rules, loader.good_entities()), loader.errors


def reload_rules(paths: Iterable[Path], previous: RuleSet) -> tuple[RuleSet, list[ConfigError]]:
    """``load_rules`` for a running monitor: a file that now has errors keeps its old rules.

    The rules ``previous`` had from each broken file (and every entity it knew) stay in
    the new set unless a clean file now defines a rule of the same name; the errors are
    returned as by ``load_rules`` so they can be reported.
    """
    fresh, errors = load_rules(paths)
    broken = {error.path for error in errors}
    names = {rule.name for rule in fresh.rules}
    kept = [rule for rule in previous.rules if rule.path in broken and rule.name not in names]
    if not kept:
        return fresh, errors
    entities = {**previous.entities, **fresh.entities}
    return RuleSet([*fresh.rules, *kept], entities), errors


def _expand(paths: Iterable[Path], errors: list[ConfigError]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()))
        elif path.exists():
            files.append(path)
        else:
            errors.append(RuleError("no such file or directory", str(path)))
    return files


@dataclass(slots=True)
class _Document:
    path: str
    text: str
    fields: dict[str, YamlNode]
    errors: int = 0  # errors found in this file so far


class _Loader:
    """Reads rule files in two passes (entities, then rules), collecting every error."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []
        self.documents: list[_Document] = []
        self.entities: dict[str, tuple[str, tuple[str, ...], str]] = {}  # folded → (name, aliases, where)
        self.broken_entities: dict[str, tuple[str, str]] = {}  # folded → (name, where defined)
        self.names: dict[str, str] = {}  # rule name → where it is defined
        self.table: Entities | None = None  # built once every entity has been read

    def error(self, document: _Document | None, error: ConfigError) -> None:
        self.errors.append(RuleError(error.message, error.path, error.line, error.column))
        if document is not None:
            document.errors += 1

    def read(self, path: Path) -> None:
        name = str(path)
        try:
            text = path.read_text(encoding="utf-8")
            root = load_yaml(path, text)
        except (OSError, UnicodeDecodeError) as exc:
            self.error(None, RuleError(f"cannot read file: {exc}", name))
            return
        except ConfigError as exc:
            self.error(None, exc)
            return
        document = _Document(name, text, {})
        self.documents.append(document)
        if root.value is None:
            return
        if not isinstance(root.value, dict):
            self.error(document, root.error("a rules file must be a mapping with a 'rules:' list"))
            return
        for key, (key_node, value) in root.value.items():
            if key in _FILE_KEYS:
                document.fields[key] = value
            else:
                hint = _suggest(str(key), _FILE_KEYS)
                self.error(document, key_node.error(f"unknown key {key!r} in rules file{hint}"))

    def collect_entities(self) -> None:
        for document in self.documents:
            node = document.fields.get("entities")
            if node is None:
                continue
            if not isinstance(node.value, dict):
                self.error(document, node.error("entities must map a name to a list of aliases"))
                continue
            for name, (key_node, value) in node.value.items():
                self.entity(document, str(name), key_node, value)

    def entity(self, document: _Document, name: str, key_node: YamlNode, value: YamlNode) -> None:
        where = f"{document.path}:{key_node.line}"
        folded = name.casefold()
        if not _ENTITY.match(name):
            self.error(
                document, key_node.error(f"entity name {name!r} must be letters, digits, '-', '_' or '.'")
            )
            return
        if folded in self.entities or folded in self.broken_entities:
            first = self.entities[folded][2] if folded in self.entities else self.broken_entities[folded][1]
            self.error(document, key_node.error(f"entity {name!r} is already defined at {first}"))
            return
        items = value.value if isinstance(value.value, list) else [value]
        aliases: list[str] = []
        before = document.errors
        for item in items:
            if not isinstance(item.value, str) or not item.value.strip():
                self.error(document, item.error(f"an alias of entity {name!r} must be a non-empty string"))
                continue
            try:
                term_words(item.value.strip(), 1)
            except QuerySyntaxError as exc:
                self.error(document, item.error(f"alias {item.value!r} of entity {name!r}: {exc.message}"))
                continue
            aliases.append(item.value.strip())
        if not aliases and document.errors == before:
            self.error(document, value.error(f"entity {name!r} needs at least one alias"))
        if document.errors > before:
            self.broken_entities[folded] = (name, where)
        else:
            self.entities[folded] = (name, tuple(aliases), where)

    def good_entities(self) -> dict[str, tuple[str, ...]]:
        return {name: aliases for name, aliases, _ in self.entities.values()}

    def rules_of(self, document: _Document) -> list[Rule]:
        node = document.fields.get("rules")
        rules: list[Rule] = []
        if node is not None and node.value is not None:
            if not isinstance(node.value, list):
                self.error(
                    document, node.error("rules must be a list of rules, each starting with '- name:'")
                )
            else:
                for item in node.value:
                    rule = self.rule(document, item)
                    if rule is not None:
                        rules.append(rule)
        return [] if document.errors else rules

    def rule(self, document: _Document, node: YamlNode) -> Rule | None:
        if not isinstance(node.value, dict):
            self.error(document, node.error("a rule must be a mapping with 'name' and 'query'"))
            return None
        before = document.errors
        fields: dict[str, YamlNode] = {}
        for key, (key_node, value) in node.value.items():
            if key in _RULE_KEYS or key in _DELIVERY_KEYS:
                fields[key] = value
            else:
                hint = _suggest(str(key), _RULE_KEYS)
                self.error(document, key_node.error(f"unknown key {key!r} in rule{hint}"))
        missing = [key for key in ("name", "query") if key not in fields]
        if missing:
            what = " and ".join(repr(key) for key in missing)
            self.error(document, node.error(f"rule needs {what}"))
        name = self.name(document, fields.get("name"))
        query = self.query(document, fields.get("query"))
        values: dict[str, Any] = {}
        for key, pattern, what in (
            ("channels", _TAG, "channel tag"),
            ("sources", _TAG, "source name"),
            ("languages", _LANGUAGE, "language code (two lowercase letters, like en)"),
        ):
            if key in fields:
                values[key] = self.names_list(document, fields[key], pattern, what)
        if "mode" in fields:
            mode = fields["mode"]
            if mode.value not in MODES:
                hint = _suggest(str(mode.value), MODES)
                self.error(document, mode.error(f"unknown mode {mode.value!r}{hint}; use {', '.join(MODES)}"))
            else:
                values["mode"] = mode.value
        if "min_mentions" in fields:
            value = fields["min_mentions"]
            if not isinstance(value.value, int) or isinstance(value.value, bool) or value.value < 1:
                self.error(
                    document,
                    value.error(f"min_mentions must be a whole number of at least 1, got {value.value!r}"),
                )
            else:
                values["min_mentions"] = value.value
        if "max_per_hour" in fields:
            value = fields["max_per_hour"]
            if not isinstance(value.value, int) or isinstance(value.value, bool) or value.value < 1:
                self.error(
                    document,
                    value.error(f"max_per_hour must be a whole number of at least 1, got {value.value!r}"),
                )
            else:
                values["max_per_hour"] = value.value
        if "schedule" in fields:
            value = fields["schedule"]
            try:
                values["schedule"] = check_cron(value.value)
            except ValueError as exc:
                self.error(document, value.error(f"schedule: {exc}"))
            if values.get("mode", "instant") == "instant":
                self.error(document, value.error("schedule needs a digest mode: hourly, daily or weekly"))
        if document.errors > before or name is None or query is None:
            return None
        return Rule(name=name, query=query, path=document.path, line=node.line, **values)

    def name(self, document: _Document, node: YamlNode | None) -> str | None:
        if node is None:
            return None
        if not isinstance(node.value, str) or not _KEBAB.match(node.value):
            self.error(
                document,
                node.error(f"rule name {node.value!r} must be lowercase-kebab, like daimler-renault"),
            )
            return None
        where = f"{document.path}:{node.line}"
        if node.value in self.names:
            self.error(
                document, node.error(f"rule name {node.value!r} is already used at {self.names[node.value]}")
            )
            return None
        self.names[node.value] = where
        return str(node.value)

    def query(self, document: _Document, node: YamlNode | None) -> str | None:
        if node is None:
            return None
        if not isinstance(node.value, str) or not node.value.strip():
            self.error(document, node.error("query must be a non-empty string"))
            return None
        query = node.value
        if self.table is None:
            entities = {name: aliases for name, aliases, _ in self.entities.values()}
            entities.update({name: () for name, _ in self.broken_entities.values()})
            self.table = Entities(entities)
        try:
            parse(query, self.table, require_positive=True)
        except QuerySyntaxError as exc:
            line, column = _locate(document.text, node, query, exc.column)
            error = _query_error(exc, query, document.path, line, column)
            folded = _entity_in(exc)
            if folded in self.broken_entities:
                name, where = self.broken_entities[folded]
                message = f"entity '@{name}' cannot be used: its definition at {where} has errors"
                error = RuleError(f"{message}\n{caret(query, exc.column)}", document.path, line, column)
            self.error(document, error)
            return None
        return query

    def names_list(
        self, document: _Document, node: YamlNode, pattern: re.Pattern[str], what: str
    ) -> tuple[str, ...]:
        items = node.value if isinstance(node.value, list) else [node]
        result: list[str] = []
        for item in items:
            if not isinstance(item.value, str) or not pattern.match(item.value):
                self.error(document, item.error(f"{item.value!r} is not a valid {what}"))
            else:
                result.append(item.value)
        return tuple(result)


def _entity_in(exc: QuerySyntaxError) -> str:
    match = re.match(r"^entity '@([^']*)' has no aliases$", exc.message)
    return match.group(1).casefold() if match else ""


def _query_error(exc: QuerySyntaxError, query: str, path: str, line: int, column: int) -> RuleError:
    return RuleError(f"{exc.message}\n{caret(query, exc.column)}", path or None, line or None, column or None)


def _locate(text: str, node: YamlNode, query: str, column: int) -> tuple[int, int]:
    """File line and column of character ``column`` (1-based) of a query read from ``node``.

    The query is the YAML scalar after unquoting and line folding, so walk the source from
    the scalar's start, matching the query's characters one by one and skipping what YAML
    removed (quotes, escapes, indentation, block-scalar headers).
    """
    lines = text.splitlines(keepends=True)
    if node.line - 1 >= len(lines):
        return node.line, node.column
    pos = sum(len(line) for line in lines[: node.line - 1]) + node.column - 1
    if pos < len(text) and text[pos] in "\"'":
        pos += 1
    elif pos < len(text) and text[pos] in "|>":
        pos = text.find("\n", pos) + 1
    target = max(0, min(column - 1, len(query)))
    for k in range(target + 1):
        ch = query[k] if k < len(query) else ""
        if not ch:
            break
        if ch.isspace():
            if k == target:
                break
            while pos < len(text) and text[pos].isspace():
                pos += 1
            continue
        while pos < len(text) and text[pos] != ch:
            pos += 1
        if k == target or pos >= len(text):
            break
        pos += 1
    if pos >= len(text):
        return node.line, node.column
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
