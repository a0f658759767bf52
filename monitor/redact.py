"""Keep channel secrets out of every log line.

apprise logs URLs and payloads at debug level (``JSON POST URL: ...``, the raw text of a
config file), and a token can sit in any part of an apprise URL: the password, the path
(webhooks), the query, even the "host" (``slack://TokenA/TokenB/TokenC``). So the parts that
may be secret are collected from every configured URL, and a log record factory, installed
once per process, makes records that replace them with ``***`` in the message and the
traceback whenever a handler formats them.
Our own messages never contain URLs in the first place: targets are named by ``label``.

Secrets are registered while monitor.yaml is read (every ``${ENV}`` value used in a channel
URL, and the secret-looking parts of each URL), before apprise sees any of them.
"""

from __future__ import annotations

import difflib
import logging
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

MASK = "***"
MIN_LENGTH = 6  # shorter tokens are too short to be secrets worth the noise of masking
_CREDENTIAL = re.compile(r"token|key|secret|pass|pwd|auth|sig|cred|hash|code", re.IGNORECASE)
_secrets: set[str] = set()
_pending: list[str] = []  # URLs whose secrets apprise has not been asked about yet
_adding = False  # apprise is being asked (it may log meanwhile)
_lock = threading.Lock()
_installed = False
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")


def url_secrets(url: str) -> set[str]:
    """The parts of an apprise URL that may be secret (see the module docstring).

    The password always; the value of a query parameter named like a credential
    (``token=``, ``apikey=``, ``secret=``...); and any user, dotless host, path segment,
    query value or fragment that looks generated rather than written (``looks_secret``),
    so that words such as ``notifications`` or ``markdown`` stay readable in logs.
    """
    found: set[str] = set()
    try:
        parts = urlsplit(url)
        password, username = parts.password, parts.username
    except ValueError:  # unparsable: mask the whole thing
        return {url}
    host = parts.netloc.rsplit("@", 1)[-1].split(":", 1)[0]  # as written: hostname lowercases
    if password:
        found |= {password, unquote(password)}
    candidates = [username or "", parts.fragment, *parts.path.split("/")]
    if host and "." not in host:
        candidates.append(host)
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        if _CREDENTIAL.search(key):
            found.add(value)
        else:
            candidates.append(value)
    found |= {part for part in candidates for part in (part, unquote(part)) if looks_secret(part)}
    return {secret for secret in found if len(secret) >= 3}


def looks_secret(part: str) -> bool:
    """Whether a URL part looks like a token: long, or mixing letters and digits."""
    if len(part) >= 24:
        return True
    has_digit = any(char.isdigit() for char in part)
    has_letter = any(char.isalpha() for char in part)
    return len(part) >= MIN_LENGTH and has_digit and has_letter


def env_values(text: str, environ: Mapping[str, str]) -> set[str]:
    """The values of the ``${NAME}`` variables that ``text`` refers to (each one a secret)."""
    return {environ[name] for name in _ENV_REF.findall(text) if len(environ.get(name, "")) >= 3}


def _apprise_private_parts(url: str) -> set[str]:
    """What apprise itself hides when it prints this URL with ``privacy=True``."""
    import apprise

    plugin: Any = apprise.Apprise.instantiate(url)  # suppresses the plugin's own exceptions
    if not plugin:
        return set()
    plain, private = str(plugin.url(privacy=False)), str(plugin.url(privacy=True))
    matcher = difflib.SequenceMatcher(a=plain, b=private, autojunk=False)
    return {plain[i1:i2] for op, i1, i2, _j1, _j2 in matcher.get_opcodes() if op != "equal" and i2 - i1 >= 4}


def protect(urls: Iterable[str], values: Iterable[str] = ()) -> None:
    """Mask the secrets of ``urls``, and ``values`` verbatim, in every log record from now on.

    apprise's own view of the private parts is added once apprise is loaded: loading its
    plugins costs about half a second of CPU, which processes that never notify (every
    crawl and ingest worker reads the config) should not pay, and apprise cannot log
    before it is loaded. apprise may log while it parses a URL: its view comes second.
    """
    urls = list(urls)
    found = {value for value in values if len(value) >= 3}
    for url in urls:
        found |= url_secrets(url)
    _add(found)
    with _lock:
        _pending.extend(urls)
    if "apprise" in sys.modules:
        _add_apprise_views()


def _add_apprise_views() -> None:
    """Add apprise's view of the secrets of the URLs protected so far (once each)."""
    global _adding
    with _lock:
        if _adding or not _pending:
            return  # a record apprise logs while we ask it: masked with what is known so far
        urls = list(dict.fromkeys(_pending))
        _pending.clear()
        _adding = True
    try:
        _add({part for url in urls for part in _apprise_private_parts(url)})
    finally:
        with _lock:
            _adding = False


def _add(secrets: set[str]) -> None:
    with _lock:
        _secrets.update(secrets)
    _install()


def redact(text: str) -> str:
    """``text`` with every known secret replaced by ``***`` (longest first)."""
    if _pending and "apprise" in sys.modules:
        _add_apprise_views()
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class _RedactingRecord(logging.LogRecord):
    """A log record whose message and traceback are redacted when a handler formats them.

    Lazily: a factory that redacted every record as it was made formatted every debug
    record too, which no handler prints at the usual levels. Scrapy makes two per page,
    one quoting the whole item, and that cost a crawl about 3% of its CPU.
    """

    def getMessage(self) -> str:
        """The message with every known secret masked."""
        return redact(super().getMessage())

    @property
    def exc_text(self) -> str | None:
        """The formatted traceback (``Formatter`` caches it here), secrets masked."""
        return self._exc_text

    @exc_text.setter
    def exc_text(self, value: str | None) -> None:
        self._exc_text = redact(value) if value else value


def _install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        if previous is logging.LogRecord:
            return _RedactingRecord(*args, **kwargs)
        record = previous(*args, **kwargs)  # another factory's records: redact them now
        if _secrets:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # a malformed record: leave it to the handler
                return record
            record.msg, record.args = redact(message), ()
            if record.exc_info and not record.exc_text:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
