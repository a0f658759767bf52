"""One send to one apprise target, and the names under which targets are recorded.

apprise reports one True/False for all targets of an ``Apprise`` object, so every target
is sent on its own (``send``) and remembered by ``target_key``, a hash of its URL: the
outbox stores keys, never URLs, and errors name a target by ``target_label`` (``channel
'team' #2 (mailto)``), so a token in a URL never reaches the database, a log or the CLI
(and what does reach them goes through ``monitor.redact`` all the same).

Each service gets the body it renders best: services that take HTML but not Markdown
(email) get the HTML body, and apprise adds the plain-text part; every other service
gets Markdown, which apprise converts where the service needs something else.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from typing import Any

import apprise

from monitor.errors import NotifyError
from monitor.notify.render import Message
from monitor.redact import redact

REASON_LIMIT = 400  # characters of apprise's explanation kept in an error
_DETAILS = ("Socket Exception:", "Response Details:", "Response:")  # apprise's debug lines that say why
_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.\-]{0,31}):")


def target_key(url: str) -> str:
    """A stable, non-secret name for one target URL (stored instead of the URL)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def target_label(channel: str, index: int, url: str) -> str:
    """How errors and the CLI name a target: channel, position and scheme, no secret.

    The scheme is the URL's leading word only: ``mailto:user:pass@host?...`` has no ``//``,
    and cutting at the first ``://`` (one may sit in its query) once printed it whole. The
    label still goes through ``redact``, the mask of every log line.
    """
    scheme = _SCHEME.match(url)
    return redact(f"channel {channel!r} #{index} ({scheme.group(1).lower() if scheme else '?'})")


def _body_for(plugin: Any, message: Message) -> tuple[str, apprise.NotifyFormat]:
    declared = getattr(plugin, "notify_format", ())
    declared = declared if isinstance(declared, (tuple, list, set)) else (declared,)
    formats = {str(getattr(fmt, "value", fmt)) for fmt in declared}
    if message.html and "html" in formats and "markdown" not in formats:
        return message.html, apprise.NotifyFormat.HTML
    return message.body, apprise.NotifyFormat.MARKDOWN


def send(url: str, message: Message, label: str) -> None:
    """Send ``message`` to one apprise URL; ``NotifyError`` if it is invalid or refused.

    ``label`` names the target in errors: the URL itself may hold a token and never
    appears in a message.
    """
    plugin: Any = apprise.Apprise.instantiate(url)
    if not plugin:
        raise NotifyError(f"{label}: not a valid apprise URL")
    body, body_format = _body_for(plugin, message)
    with _ReasonCapture() as capture:
        delivered = plugin.notify(title=message.title, body=body, body_format=body_format)
    if not delivered:
        raise NotifyError(
            f"{label}: {capture.reason() or 'the service refused the message or could not be reached'}"
        )


class _ReasonCapture(logging.Filter):
    """What apprise said while one send failed: its warnings and the server's own reply.

    apprise returns False and says why only in its log: a warning ("Connection error while
    submitting email") and, at debug level, the exception with the server's reply ("550
    5.1.1 mailbox unavailable", "Connection refused"). While a send runs, apprise's logger
    is lowered to debug and this filter keeps those records for the error, letting through
    to the usual handlers only what they would have seen anyway. Sends are serialised
    (the logger's level is process-wide); one dispatcher per process sends one at a time.
    """

    _lock = threading.Lock()

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.logger = logging.getLogger("apprise")
        self.level = logging.NOTSET

    def __enter__(self) -> _ReasonCapture:
        self._lock.acquire()
        self.level = self.logger.level
        self.shown = self.logger.getEffectiveLevel()
        self.logger.setLevel(logging.DEBUG)
        self.logger.addFilter(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeFilter(self)
        self.logger.setLevel(self.level)
        self._lock.release()

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep warnings and exception details; pass on what the handlers would have seen."""
        # Formatting is paid only for the lines kept: apprise's debug lines carry whole payloads.
        if record.levelno >= logging.WARNING or str(record.msg).startswith(_DETAILS):
            self.lines.append(" ".join(record.getMessage().split()))
        return record.levelno >= self.shown

    def reason(self) -> str:
        """The captured lines, masked and capped, for the stored error."""
        return redact("; ".join(dict.fromkeys(self.lines)))[:REASON_LIMIT]
