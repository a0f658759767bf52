"""YAML loading that remembers where every value came from.

PyYAML's ``safe_load`` silently keeps the last of two duplicate keys, expands aliases
without limit and reports 0-based marks. This loader refuses duplicate keys, caps alias
use, and returns ``Node`` objects with 1-based line and column, so that config and rule
errors can be reported as ``file:line:col: message``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import ConfigError

MAX_ALIASES = 100
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


class _Loader(yaml.SafeLoader):
    """SafeLoader that wraps every value in a ``Node`` and checks keys and aliases."""

    def __init__(self, stream: str, path: str) -> None:
        super().__init__(stream)
        self.path = path
        self.alias_count = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.alias_count += 1
            if self.alias_count > MAX_ALIASES:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise ConfigError(
                    f"more than {MAX_ALIASES} YAML aliases; refusing to expand them",
                    self.path,
                    mark.line + 1,
                    mark.column + 1,
                )
        return super().compose_node(parent, index)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        value = super().construct_object(node, deep=True)
        if isinstance(value, Node):
            return value
        mark = node.start_mark
        return Node(value, self.path, mark.line + 1, mark.column + 1)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
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
                raise ConfigError(f"duplicate key {plain_key!r}", self.path, mark.line + 1, mark.column + 1)
            result[plain_key] = (key, self.construct_object(value_node, deep=True))
        return result


def load_yaml(path: Path | str, text: str | None = None) -> Node:
    """Load one YAML document as ``Node`` values; raise ``ConfigError`` with its position.

    Mappings become ``dict[str, tuple[Node, Node]]`` (key node, value node) so both the key
    and the value can be pointed at; sequences become ``list[Node]``.
    """
    name = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError("file not found", name) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read file: {exc}", name) from None
    loader = _Loader(text, name)
    try:
        node = loader.get_single_node()
        if node is None:
            return Node(None, name, 1, 1)
        result = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is None:
            raise ConfigError(problem, name) from None
        raise ConfigError(problem, name, mark.line + 1, mark.column + 1) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", name) from None
    finally:
        loader.dispose()
    assert isinstance(result, Node)
    return result


def plain(node: Node) -> Any:
    """Strip positions: turn a ``Node`` tree back into plain Python values."""
    value = node.value
    if isinstance(value, dict):
        return {key: plain(item) for key, (_, item) in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


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
