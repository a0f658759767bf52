"""The exception family of monitor.

Lower layers raise these; only ``monitor.cli`` turns them into exit codes and messages.

    MonitorError
     ├── ConfigError        monitor.yaml is missing, malformed or inconsistent
     │    └── RuleError     a rules/*.yaml file or one of its queries is wrong
     ├── ParseError         a fetched document cannot become an Article
     │    └── NoArticleText a readable page with no article text (a wall, a script-built page)
     ├── StorageError       the database cannot be reached or is in the wrong state
     └── NotifyError        a channel could not be built or refused a message
"""

from __future__ import annotations

import reprlib


class MonitorError(Exception):
    """Base of every error monitor raises on purpose."""


class ConfigError(MonitorError):
    """Raised by ``monitor.config.model`` for a bad configuration; carries the position when known.

    ``str()`` gives compiler form, ``path:line:col: message``, so editors can jump to it.
    """

    def __init__(
        self,
        message: str,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = [str(part) for part in (self.path, self.line, self.column) if part is not None]
        return f"{':'.join(where)}: {self.message}" if where else self.message


class RuleError(ConfigError):
    """Raised by ``monitor.watch.rules`` for a rule file or a query that cannot be used."""


class ParseError(MonitorError):
    """Raised by ``monitor.parse`` when a document holds no usable article."""


class NoArticleText(ParseError):
    """Raised by ``monitor.parse`` for a page it can read that has no article text.

    Every extractor came back empty, or with only the title or a menu: a cookie wall, a
    paywall, a page built by scripts. The crawl records it as ``empty-body``, apart from
    documents that are not HTML at all.
    """


class StorageError(MonitorError):
    """Raised by ``monitor.store.database`` when the database is unreachable or its schema is wrong."""


class NotifyError(MonitorError):
    """Raised by ``monitor.notify`` when a channel URL is invalid or a send failed."""


QUOTE_LIMIT = 80
_REPR = reprlib.Repr()  # keyword arguments only from Python 3.12
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 3, QUOTE_LIMIT, QUOTE_LIMIT, 40


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """A short ``repr`` of ``value`` for error messages about hostile input (``reprlib`` underneath).

    An error must not echo an input whole: a YAML alias bomb expands to gigabytes (its
    plain ``repr`` never finishes), and a file can hold one 20 MB line. ``reprlib`` stops at
    a few levels and items, and the result is cut to ``limit`` characters.
    """
    text = _REPR.repr(value)
    if isinstance(value, str | bytes) and len(value) > limit:
        text += f" ({len(value):,} characters)"
    return text if len(text) <= limit + 24 else f"{text[:limit]}…"
