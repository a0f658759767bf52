"""Reading rules files: YAML to rule fields and entities, every error with its position.

Two passes, because entities defined in any file serve every file: first every file's
``entities:``, then every rule, whose query is parsed against all of them. Errors are
collected, never raised, so ``monitor check`` can list them all; a file with any error
gives no rules. ``monitor.watch.rules`` turns the fields into ``Rule``s.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.config.values import check_cron
from monitor.config.yamlfile import Node as YamlNode
from monitor.config.yamlfile import load_yaml, read_text
from monitor.errors import ConfigError, RuleError, quoted
from monitor.matching.query import Entities, QuerySyntaxError, caret, parse, term_words

MODES = ("instant", "hourly", "daily", "weekly")
SUFFIXES = (".yaml", ".yml")  # the files of a rules folder that are read
_RULE_KEYS = ("name", "query", "channels", "sources", "languages", "mode", "min_mentions")
_DELIVERY_KEYS = ("max_per_hour", "schedule")  # how alerts go out: see monitor.notify.policy
_FILE_KEYS = ("rules", "entities")
_KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_ENTITY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(slots=True)
class RuleFiles:
    """What a set of rules files holds: rule fields of clean files, entities, every error."""

    rules: list[dict[str, Any]] = field(default_factory=list)  # keyword arguments of ``Rule``
    entities: dict[str, tuple[str, ...]] = field(default_factory=dict)
    errors: list[ConfigError] = field(default_factory=list)


def read_rule_files(paths: Iterable[Path]) -> RuleFiles:
    """Read files and directories (every ``*.yaml``/``*.yml``, sorted) of rules."""
    loader = _Loader()
    for path in _expand(paths, loader.errors):
        loader.read(path)
    loader.collect_entities()
    rules: list[dict[str, Any]] = []
    for document in loader.documents:
        rules.extend(loader.rules_of(document))
    return RuleFiles(rules, loader.good_entities(), loader.errors)


def folder_files(folder: Path) -> list[Path]:
    """The rules files of a folder, sorted: every ``*.yaml``/``*.yml`` file; ``OSError`` if unreadable."""
    return sorted(path for path in folder.iterdir() if path.suffix in SUFFIXES and path.is_file())


def _expand(paths: Iterable[Path], errors: list[ConfigError]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            try:
                files.extend(folder_files(path))
            except OSError as exc:
                errors.append(RuleError(f"cannot read folder: {exc.strerror or exc}", str(path)))
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
        """Read one file; any failure becomes that file's error, never an exception."""
        name = str(path)
        try:
            text = read_text(path)
            root = load_yaml(path, text)
        except ConfigError as exc:
            self.error(None, exc)
            return
        except Exception as exc:  # a bug (RecursionError, MemoryError...), not the file's fault
            self.error(None, RuleError(_internal(exc), name, 1, 1))
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
                self.error(document, key_node.error(f"unknown key {quoted(key)} in rules file{hint}"))

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
                document,
                key_node.error(f"entity name {quoted(name)} must be letters, digits, '-', '_' or '.'"),
            )
            return
        if folded in self.entities or folded in self.broken_entities:
            first = self.entities[folded][2] if folded in self.entities else self.broken_entities[folded][1]
            self.error(document, key_node.error(f"entity {quoted(name)} is already defined at {first}"))
            return
        items = value.value if isinstance(value.value, list) else [value]
        aliases: list[str] = []
        before = document.errors
        for item in items:
            if not isinstance(item.value, str) or not item.value.strip():
                self.error(
                    document, item.error(f"an alias of entity {quoted(name)} must be a non-empty string")
                )
                continue
            try:
                term_words(item.value.strip(), 1)
            except QuerySyntaxError as exc:
                self.error(
                    document,
                    item.error(f"alias {_shown(item.value)} of entity {quoted(name)}: {exc.message}"),
                )
                continue
            aliases.append(item.value.strip())
        if not aliases and document.errors == before:
            self.error(document, value.error(f"entity {quoted(name)} needs at least one alias"))
        if document.errors > before:
            self.broken_entities[folded] = (name, where)
        else:
            self.entities[folded] = (name, tuple(aliases), where)

    def good_entities(self) -> dict[str, tuple[str, ...]]:
        return {name: aliases for name, aliases, _ in self.entities.values()}

    def rules_of(self, document: _Document) -> list[dict[str, Any]]:
        node = document.fields.get("rules")
        rules: list[dict[str, Any]] = []
        if node is not None and node.value is not None:
            if not isinstance(node.value, list):
                self.error(
                    document, node.error("rules must be a list of rules, each starting with '- name:'")
                )
            else:
                for item in node.value:
                    try:
                        rule = self.rule(document, item)
                    except Exception as exc:  # a bug: this file's error, not everyone's
                        self.error(document, RuleError(_internal(exc), document.path, item.line, item.column))
                        continue
                    if rule is not None:
                        rules.append(rule)
        return [] if document.errors else rules

    def rule(self, document: _Document, node: YamlNode) -> dict[str, Any] | None:
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
                self.error(document, key_node.error(f"unknown key {quoted(key)} in rule{hint}"))
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
                self.error(
                    document, mode.error(f"unknown mode {_shown(mode.value)}{hint}; use {', '.join(MODES)}")
                )
            else:
                values["mode"] = mode.value
        if "min_mentions" in fields:
            value = fields["min_mentions"]
            if not isinstance(value.value, int) or isinstance(value.value, bool) or value.value < 1:
                self.error(
                    document,
                    value.error(
                        f"min_mentions must be a whole number of at least 1, got {_shown(value.value)}"
                    ),
                )
            else:
                values["min_mentions"] = value.value
        if "max_per_hour" in fields:
            value = fields["max_per_hour"]
            if not isinstance(value.value, int) or isinstance(value.value, bool) or value.value < 1:
                self.error(
                    document,
                    value.error(
                        f"max_per_hour must be a whole number of at least 1, got {_shown(value.value)}"
                    ),
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
        return {"name": name, "query": query, "path": document.path, "line": node.line, **values}

    def name(self, document: _Document, node: YamlNode | None) -> str | None:
        if node is None:
            return None
        if not isinstance(node.value, str) or not _KEBAB.match(node.value):
            self.error(
                document,
                node.error(f"rule name {_shown(node.value)} must be lowercase-kebab, like daimler-renault"),
            )
            return None
        where = f"{document.path}:{node.line}"
        if node.value in self.names:
            self.error(
                document,
                node.error(f"rule name {_shown(node.value)} is already used at {self.names[node.value]}"),
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
            error = query_error(exc, query, document.path, line, column)
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
                self.error(document, item.error(f"{_shown(item.value)} is not a valid {what}"))
            else:
                result.append(item.value)
        return tuple(result)


def _shown(value: Any) -> str:
    """``quoted(value)`` for a scalar; a YAML list or mapping is named, not printed."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return quoted(value)


def _internal(exc: BaseException) -> str:
    return f"cannot read this file ({type(exc).__name__}: {quoted(str(exc), 200)}); please report it"


def _entity_in(exc: QuerySyntaxError) -> str:
    match = re.match(r"^entity '@([^']*)' has no aliases$", exc.message)
    return match.group(1).casefold() if match else ""


def query_error(exc: QuerySyntaxError, query: str, path: str, line: int, column: int) -> RuleError:
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
