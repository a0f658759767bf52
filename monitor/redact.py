"""Keep channel secrets out of every log line, every printed line and every stored error.

apprise logs URLs and payloads at debug level (``JSON POST URL: ...``, the raw text of a
config file), and a token can sit in any part of an apprise URL: the password, the path
(webhooks), the query, even the "host" (``slack://TokenA/TokenB/TokenC``), with or without
``//`` after the scheme (``mailto:user:pass@host?...``). So the parts that may be secret are
collected from every configured URL, apprise's own ``url(privacy=True)`` view included, and
``redact`` replaces them with ``***``; it also masks, in any URL it meets in the text, what
an URL of that kind keeps secret (``mask_urls``, the general mask for URLs nobody
registered). A log record factory, installed once per process, makes records that go
through ``redact`` in the message and the traceback whenever a handler formats them; target
labels, ``notify-test`` and ``alerts`` output and every error stored in the outbox go
through the same ``redact``.

Secrets are registered while monitor.yaml is read (every ``${ENV}`` value used in a channel
URL, and the secret-looking parts of each URL), before apprise sees any of them.
apprise does the heavy lifting of knowing what each of its services keeps private; the
URL parsing here is deliberately tolerant (no ``urlsplit``), since a malformed URL is the
one most likely to be quoted whole in an error.
"""

from __future__ import annotations

import difflib
import logging
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple
from urllib.parse import unquote_plus

MASK = "***"
MIN_LENGTH = 6  # shorter tokens are too short to be secrets worth the noise of masking
_CREDENTIAL = re.compile(r"token|key|secret|pass|pwd|auth|sig|cred|hash|code", re.IGNORECASE)
_secrets: set[str] = set()
_pending: list[str] = []  # URLs whose secrets apprise has not been asked about yet
_adding = False  # apprise is being asked (it may log meanwhile)
_lock = threading.Lock()
_installed = False
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]{1,31}):(?://)?")
# An URL inside free text: a scheme not glued to a word before it, then no blank or quote.
_URL = re.compile(r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s'\"<>`]+")
_TRAILING = ").,;:!]}"
# Schemes whose paths are content (articles, files, databases), not channel tokens.
_PLAIN_SCHEME = re.compile(
    r"(?:https?|wss?|ftps?|file|sqlite|postgres(?:ql)?|mysql|mariadb|redis|rediss)(?:\+\w+)?"
)


class _Parts(NamedTuple):
    """An URL cut into its parts as written (nothing decoded, lowercased or validated)."""

    scheme: str
    user: str
    password: str
    host: str
    port: str
    path: str
    query: str
    fragment: str


def _split(url: str) -> _Parts | None:
    """Cut ``url`` into its parts; ``None`` if it has no scheme.

    Tolerant where ``urlsplit`` is not: ``mailto:user:pass@host?...`` (no ``//``) has its
    password found like ``mailto://user:pass@host``, and a "port" that is not a number
    (``tgram://123456:Token/chat``) is kept rather than refused.
    """
    match = _SCHEME.match(url)
    if match is None:
        return None
    rest, _, fragment = url[match.end() :].partition("#")
    rest, _, query = rest.partition("?")
    authority, _, path = rest.partition("/")
    userinfo, _, hostport = authority.rpartition("@")
    user, _, password = userinfo.partition(":")
    if hostport.startswith("["):
        host, _, port = hostport.partition("]")
        host, port = host + "]", port.removeprefix(":")
    else:
        host, _, port = hostport.partition(":")
    return _Parts(match.group(1).lower(), user, password, host, port, path, query, fragment)


def url_secrets(url: str, guess: bool = True) -> set[str]:
    """The parts of an URL that may be secret (see the module docstring), as written and decoded.

    Always: the password, a "port" that is not a number, and the value of a query parameter
    named like a credential (``token=``, ``pass=``, ``apikey=``, ``secret=``...). With
    ``guess``: also any user, dotless host, path segment, query value or fragment that looks
    generated rather than written (``looks_secret``), so that words such as ``notifications``
    or ``markdown`` stay readable in logs.
    """
    parts = _split(url.strip())
    if parts is None:  # not an URL at all: mask the whole thing
        return {url}
    found: set[str] = set()
    certain = [parts.password]
    if parts.port and not parts.port.isdigit():
        certain.append(parts.port)
    candidates = [parts.user, parts.fragment, *parts.path.split("/")]
    if parts.host and "." not in parts.host and not parts.host.startswith("["):
        candidates.append(parts.host)
    for pair in parts.query.split("&"):
        key, _, value = pair.partition("=")
        (certain if _CREDENTIAL.search(unquote_plus(key)) else candidates).append(value)
    found |= {form for part in certain if part for form in (part, unquote_plus(part))}
    if guess:
        found |= {form for part in candidates for form in (part, unquote_plus(part)) if looks_secret(form)}
    return {secret for secret in found if len(secret) >= 3}


def mask_urls(text: str) -> str:
    """``text`` with the secret-looking parts of every URL in it replaced by ``***``.

    The general mask, for URLs nobody registered with ``protect``: the secrets of a channel
    URL are known once monitor.yaml is read, but an error may quote an URL that is not
    (yet) in it. URLs of the ordinary schemes (``http``, ``sqlite``...) keep their paths,
    since article and database URLs must stay readable; only their passwords and
    credential query values go. Every other scheme (``mailto``, ``json``, ``slack``...) is an
    apprise channel, whose tokens are also masked wherever they look generated.
    """
    return _URL.sub(_mask_one_url, text) if ":" in text else text


def _mask_one_url(match: re.Match[str]) -> str:
    url = match.group(0)
    core = url.rstrip(_TRAILING)  # "(mailto:...)," the punctuation around is not the URL's
    parts = _split(core)
    if parts is None or not any(mark in core[len(parts.scheme) + 1 :] for mark in "/@?"):
        return url  # "file.yaml:4:10": not an URL
    secrets = url_secrets(core, guess=_PLAIN_SCHEME.fullmatch(parts.scheme) is None)
    for secret in sorted(secrets, key=len, reverse=True):
        core = core.replace(secret, MASK)
    return core + url[len(url.rstrip(_TRAILING)) :]


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
    """``text`` with every known secret, and the secret parts of any URL, replaced by ``***``.

    The one mask of the project: log records, target labels, what ``notify-test`` and
    ``alerts`` print and every error stored in the outbox go through it.
    """
    if _pending and "apprise" in sys.modules:
        _add_apprise_views()
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return mask_urls(text)


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
