"""How a monitor.yaml setting is declared: once, as a dataclass field with its key, help and parser.

Every setting is a field of the frozen dataclass that holds it (``Config``, ``CrawlSettings``,
``OperatorSettings`` and the dispatch fields of ``Config``; ``Source`` and ``Schedule``;
``Channel``), written with ``setting()``: the annotation is its Python type, the field's
default is *the* default, and the metadata (``About``) holds the YAML key, a one-line
description, the parser that turns a YAML value into it and what kind of value it is.
From there

- ``monitor.config.model`` takes the known keys, the "did you mean" suggestions and the
  conversions (``read_values``), so an error still points at its own ``file:line:col``;
- ``monitor.config.reference`` renders the README's configuration table;
- ``monitor.crawl.settings`` takes its Scrapy defaults and builds each crawl's settings from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from monitor.config.yamlfile import Node

T = TypeVar("T")
_ABOUT = "monitor.setting"  # the metadata key of a field's About


@dataclass(frozen=True, slots=True)
class About:
    """What a field declares besides its type and default."""

    help: str
    key: str | None = None  # the YAML key; None: the field's name
    parse: Callable[[Any], Any] | None = None  # None: the reader reads it by hand (nested, checked)
    kind: str = "string"  # what the README calls its type
    shown: str | None = None  # the default as the README says it, when the value alone says too little
    section: str | None = None  # a flat field written under a section of its own (``dispatch:``)


@dataclass(frozen=True, slots=True)
class Setting:
    """One declared setting, as the reader and the README see it."""

    name: str  # the attribute
    key: str  # the YAML key
    about: About
    default: Any  # ``MISSING``: required

    @property
    def required(self) -> bool:
        """Whether the setting has no default (a source's ``name``, ``kind``, ``url``)."""
        return self.default is MISSING


def setting(
    default: T,
    help: str,
    *,
    key: str | None = None,
    parse: Callable[[Any], Any] | None = None,
    kind: str = "string",
    shown: str | None = None,
    section: str | None = None,
) -> T:
    """A dataclass field declaring a setting with its default."""
    about = About(help, key, parse, kind, shown, section)
    result: T = field(default=default, metadata={_ABOUT: about})
    return result


def setting_from(
    factory: Callable[[], T],
    help: str,
    *,
    key: str | None = None,
    kind: str = "mapping",
    shown: str | None = None,
) -> T:
    """A dataclass field declaring a setting whose default is built fresh (a mapping)."""
    result: T = field(default_factory=factory, metadata={_ABOUT: About(help, key, None, kind, shown)})
    return result


def required(
    help: str, *, key: str | None = None, kind: str = "string", shown: str | None = None
) -> dict[str, About]:
    """The metadata of a setting without a default: ``field(metadata=required(...))``.

    Written out as ``field()`` so that type checkers know the field has no default.
    ``shown``: what the README says when the file may leave it out (the database URL).
    """
    return {_ABOUT: About(help, key, None, kind, shown)}


def settings_of(cls: type, section: str | None = None) -> tuple[Setting, ...]:
    """The settings ``cls`` declares under ``section`` (None: its own level), in field order."""
    found = []
    for item in fields(cls):
        about = item.metadata.get(_ABOUT)
        if about is None or about.section != section:
            continue
        default = item.default_factory() if item.default_factory is not MISSING else item.default
        found.append(Setting(item.name, about.key or item.name, about, default))
    return tuple(found)


def keys_of(cls: type, section: str | None = None) -> tuple[str, ...]:
    """The YAML keys of ``cls`` at ``section``; at its own level, its flat sections' names too."""
    keys = [declared.key for declared in settings_of(cls, section)]
    if section is None:
        for item in fields(cls):
            about = item.metadata.get(_ABOUT)
            if about is not None and about.section is not None and about.section not in keys:
                keys.append(about.section)
    return tuple(keys)


def default_of(cls: type, name: str) -> Any:
    """The declared default of the field ``name`` of ``cls``."""
    for item in fields(cls):
        if item.name == name:
            return item.default_factory() if item.default_factory is not MISSING else item.default
    raise KeyError(name)


def parser_of(cls: type, key: str, section: str | None = None) -> Callable[[Any], Any]:
    """The declared parser of the YAML key ``key`` of ``cls``."""
    for declared in settings_of(cls, section):
        if declared.key == key and declared.about.parse is not None:
            return declared.about.parse
    raise KeyError(key)


def read_values(
    nodes: Mapping[str, Node],
    declared: Iterable[Setting],
    convert: Callable[[Node, Callable[[Any], Any], str], Any],
) -> dict[str, Any]:
    """The values of ``nodes`` (key -> YAML node) that have a parser, by attribute name.

    Keys are read in the order the file gives them, so errors come in reading order;
    ``convert`` records a bad value's error (and returns None: the default stays).
    """
    by_key = {item.key: item for item in declared if item.about.parse is not None}
    values = {}
    for key, node in nodes.items():
        item = by_key.get(key)
        if item is not None and item.about.parse is not None:
            value = convert(node, item.about.parse, key)
            if value is not None:
                values[item.name] = value
    return values
