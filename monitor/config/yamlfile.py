"""YAML loading that remembers where every value came from, within fixed bounds.

PyYAML's ``safe_load`` silently keeps the last of two duplicate keys, expands aliases
without limit, recurses once per nesting level and reports 0-based marks. This loader
refuses duplicate keys, bounds the file's size, its nesting and what its aliases expand
to, and returns ``Node`` objects with 1-based line and column, so that config and rule
errors can be reported as ``file:line:col: message``.

PyYAML does the parsing; its C extension (libyaml, ``yaml._yaml.CParser``) produces the
events when it is installed, about five times faster than the pure-Python scanner, and
PyYAML's Python composer and constructor build the nodes, so the checks below run on
every node whichever parser is used. A file with a syntax error is parsed again by the
pure-Python parser, whose messages name what was expected.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.reader import Reader
from yaml.resolver import Resolver

from monitor.errors import ConfigError, quoted

# Without libyaml (a PyYAML built without it), the pure-Python parser does it all.
FAST = bool(getattr(yaml, "__with_libyaml__", False))

MAX_BYTES = 4 * 1024 * 1024  # a YAML file (monitor.yaml or a rules file) may be this big
MAX_VALUES = 250_000  # values (scalars and collections) in one file: bounds time and memory
MAX_DEPTH = 50  # collections nested in collections
MAX_ALIASES = 100  # alias uses in one file
MAX_ALIAS_VALUES = 10_000  # values that all alias uses together stand for, expanded
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True, slots=True)
class Node:
    """A YAML value with its position (1-based) in its file."""

    value: Any
    path: str
    line: int
    column: int

    def error(self, message: str) -> ConfigError:
        """A ``ConfigError`` that points at this node."""
        return ConfigError(message, self.path, self.line, self.column)


class _Checks:
    """Composer and constructor hooks: positions, duplicate keys, depth and alias bounds.

    Every composed node records how many values it stands for with its aliases expanded
    (``_values``), so an alias costs what it would cost written out: the 9-level "billion
    laughs" is refused at its first alias that crosses ``MAX_ALIAS_VALUES``, before
    anything is expanded. (The constructor never expands aliases either: an aliased node
    becomes one shared object.)
    """

    path: str
    values: int
    depth: int
    alias_count: int
    alias_values: int

    def start(self, path: str) -> None:
        self.path = path
        self.values = 0
        self.depth = 0
        self.alias_count = 0
        self.alias_values = 0

    def _refuse(self, message: str) -> ConfigError:
        mark = self.peek_event().start_mark  # type: ignore[attr-defined]
        return ConfigError(message, self.path, mark.line + 1, mark.column + 1)

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):  # type: ignore[attr-defined]
            self.alias_count += 1
            if self.alias_count > MAX_ALIASES:
                raise self._refuse(f"more than {MAX_ALIASES} YAML aliases; refusing to expand them")
            anchor = self.peek_event().anchor  # type: ignore[attr-defined]
            target = self.anchors.get(anchor)  # type: ignore[attr-defined]
            self.alias_values += getattr(target, "_values", 1)
            if self.alias_values > MAX_ALIAS_VALUES:
                raise self._refuse(
                    f"YAML aliases here expand to more than {MAX_ALIAS_VALUES:,} values;"
                    " refusing to expand them (write the values out, or use fewer aliases)"
                )
            return super().compose_node(parent, index)  # type: ignore[misc]
        self.values += 1
        if self.values > MAX_VALUES:
            raise self._refuse(
                f"more than {MAX_VALUES:,} YAML values in one file; split it into several files"
            )
        if self.depth >= MAX_DEPTH:
            raise self._refuse(f"YAML nested deeper than {MAX_DEPTH} levels")
        self.depth += 1
        try:
            node = super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self.depth -= 1
        if isinstance(node, yaml.SequenceNode):
            node._values = 1 + sum(getattr(item, "_values", 1) for item in node.value)  # type: ignore[attr-defined]
        elif isinstance(node, yaml.MappingNode):
            node._values = 1 + sum(  # type: ignore[attr-defined]
                getattr(key, "_values", 1) + getattr(value, "_values", 1) for key, value in node.value
            )
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        value = super().construct_object(node, deep=True)  # type: ignore[misc]
        if isinstance(value, Node):
            return value
        mark = node.start_mark
        return Node(value, self.path, mark.line + 1, mark.column + 1)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)  # type: ignore[attr-defined]
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            plain_key = key.value if isinstance(key, Node) else key
            if not isinstance(plain_key, str | int | float | bool) and plain_key is not None:
                mark = key_node.start_mark
                raise ConfigError(
                    "mapping keys must be plain values", self.path, mark.line + 1, mark.column + 1
                )
            if plain_key in result:
                mark = key_node.start_mark
                raise ConfigError(
                    f"duplicate key {quoted(plain_key)}", self.path, mark.line + 1, mark.column + 1
                )
            result[plain_key] = (key, self.construct_object(value_node, deep=True))
        return result


class _Loader(_Checks, yaml.SafeLoader):
    """The pure-Python loader: PyYAML's reader, scanner and parser, with the checks."""

    def __init__(self, stream: str, path: str) -> None:
        super().__init__(stream)
        self.start(path)


if FAST:
    from yaml._yaml import CParser

    class _FastLoader(_Checks, Composer, CParser, SafeConstructor, Resolver):
        """libyaml's parser for the events; PyYAML's composer and constructor, with the checks."""

        def __init__(self, stream: str, path: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self.start(path)


def read_text(path: Path | str, limit: int = MAX_BYTES) -> str:
    """The text of a UTF-8 file of at most ``limit`` bytes; ``ConfigError`` saying why not.

    The size is checked before anything is read, and only regular files are read (a FIFO
    or a device would block or never end). An undecodable byte is reported where it is.
    """
    name = str(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError("not a regular file", name)
        if info.st_size > limit:
            raise ConfigError(f"file is too big: {info.st_size:,} bytes, the limit is {limit:,}", name, 1, 1)
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise ConfigError("file not found", name) from None
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror or exc}", name) from None
    if len(data) > limit:  # it grew since stat()
        raise ConfigError(f"file is too big: more than {limit:,} bytes", name, 1, 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"byte 0x{data[exc.start]:02x} is not UTF-8 text (save the file as UTF-8)", name, line, column
        ) from None


def check_characters(text: str, name: str) -> None:
    """Refuse a NUL byte or another control character that YAML does not allow, where it is."""
    found = Reader.NON_PRINTABLE.search(text)
    if found is None:
        return
    pos = found.start()
    char = ord(text[pos])
    what = "a NUL byte (U+0000)" if char == 0 else f"control character U+{char:04X}"
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    raise ConfigError(f"{what} is not allowed in a YAML file", name, line, column)


def load_yaml(path: Path | str, text: str | None = None) -> Node:
    """Load one YAML document as ``Node`` values; raise ``ConfigError`` with its position.

    Mappings become ``dict[str, tuple[Node, Node]]`` (key node, value node) so both the key
    and the value can be pointed at; sequences become ``list[Node]``. ``text`` is read from
    ``path`` (at most ``MAX_BYTES``) when not given. Nothing but ``ConfigError`` escapes.
    """
    name = str(path)
    if text is None:
        text = read_text(path)
    elif len(text) > MAX_BYTES:
        raise ConfigError(f"file is too big: more than {MAX_BYTES:,} bytes", name, 1, 1)
    check_characters(text, name)
    try:
        return _compose(text, name, fast=FAST)
    except ConfigError:
        raise
    except yaml.MarkedYAMLError as exc:
        error = exc
        if FAST:
            try:  # the pure-Python parser names what it expected; the positions agree
                return _compose(text, name, fast=False)
            except yaml.MarkedYAMLError as slow:
                error = slow
        raise _yaml_error(error, name) from None
    except yaml.reader.ReaderError as exc:
        raise ConfigError(f"cannot read YAML: {exc.reason}", name) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {quoted(str(exc), 200)}", name) from None
    except RecursionError:  # the limits above should make this unreachable
        raise ConfigError(f"YAML nested too deeply (the limit is {MAX_DEPTH} levels)", name) from None


def _compose(text: str, name: str, fast: bool) -> Node:
    loader = _FastLoader(text, name) if fast else _Loader(text, name)
    try:
        node = loader.get_single_node()
        if node is None:
            return Node(None, name, 1, 1)
        result = loader.construct_document(node)
    finally:
        loader.dispose()
    assert isinstance(result, Node)
    return result


def _yaml_error(exc: yaml.MarkedYAMLError, name: str) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    if mark is None:
        return ConfigError(problem, name)
    return ConfigError(problem, name, mark.line + 1, mark.column + 1)


def expand_env(text: str, node: Node, environ: dict[str, str] | None = None) -> str:
    """Replace ``${NAME}`` and ``${NAME:-default}`` with environment values.

    A reference to an unset variable without a default is an error at ``node``; the value
    itself is never put into the message, so secrets stay out of logs.
    """
    env = os.environ if environ is None else environ

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise node.error(f"environment variable {name} is not set")

    return _ENV_REF.sub(substitute, text)
