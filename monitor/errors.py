"""The exception family of monitor.

Lower layers raise these; only ``monitor.cli`` turns them into exit codes and messages.

    MonitorError
     ├── ConfigError        monitor.yaml is missing, malformed or inconsistent
     │    └── RuleError     a rules/*.yaml file or one of its queries is wrong
     ├── ParseError         a fetched document cannot become an Article
     ├── StorageError       the database cannot be reached or is in the wrong state
     └── NotifyError        a channel could not be built or refused a message
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error monitor raises on purpose."""


class ConfigError(MonitorError):
    """Raised by ``monitor.config`` for a bad configuration; carries the position when known.

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
    """Raised by ``monitor.rules`` for a rule file or a query that cannot be used."""


class ParseError(MonitorError):
    """Raised by ``monitor.parse`` when a document holds no usable article."""


class StorageError(MonitorError):
    """Raised by ``monitor.store`` when the database is unreachable or its schema is wrong."""


class NotifyError(MonitorError):
    """Raised by ``monitor.notify`` when a channel URL is invalid or a send failed."""
