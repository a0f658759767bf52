"""The ``channels:`` section of monitor.yaml: apprise URLs by tag, and how each tag is written to.

Two forms, mixable::

    channels:
      alerts: [mailto://..., "${SLACK_URL}"]      # short: a tag and its apprise URLs
      team:                                       # long: the same plus delivery settings
        urls: ["${TEAMS_URL}"]
        timezone: Europe/Berlin                   # times in messages; quiet hours; digest cron
        quiet_hours: "22:00-07:00"                # nothing is sent then; it waits until the end
        digest: "0 8 * * 1-5"                     # this channel's digest schedule (cron)
    apprise: apprise.yml                          # apprise's own config file: URLs join their tags

Secrets come from ``${ENV}`` references and are never echoed: an error names the channel,
the entry's number and position and the variables it came from, not its text. With
``check``, apprise itself is asked whether it can use each URL (``Apprise.instantiate``),
so ``monitor check`` refuses what would only fail at the first alert. Parsing returns
errors instead of raising, so ``monitor check`` can list them all.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from monitor.config.declare import keys_of, read_values, setting, settings_of
from monitor.config.values import check_cron, check_zone
from monitor.config.yamlfile import Node, expand_env
from monitor.errors import ConfigError, quoted
from monitor.redact import env_values, protect

_TAG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_ENV_NAME = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily span of local time when a channel gets nothing (it may cross midnight)."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("quiet hours must not start and end at the same time")

    def contains(self, local: datetime) -> bool:
        """Whether the local time ``local`` falls in the span."""
        now = local.time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def ends_after(self, local: datetime) -> datetime:
        """The first end of the span after ``local`` (same time zone as ``local``)."""
        end = datetime.combine(local.date(), self.end, tzinfo=local.tzinfo)
        return end if end > local else end + timedelta(days=1)


def parse_quiet_hours(value: Any) -> QuietHours:
    """``"22:00-07:00"`` as ``QuietHours``; ``ValueError`` otherwise."""
    match = _QUIET.match(str(value))
    if not match:
        raise ValueError(f"{quoted(value)} is not a span like 22:00-07:00")
    hour1, minute1, hour2, minute2 = (int(part) for part in match.groups())
    try:
        return QuietHours(time(hour1, minute1), time(hour2, minute2))
    except ValueError as exc:
        raise ValueError(f"{quoted(value)}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Channel:
    """Delivery settings of one channel tag written in the long form.

    ``urls`` are the ones this entry lists; ``Config.channels`` holds every URL of the tag
    (an ``apprise:`` file may add some), and is what alerts are sent to.
    """

    urls: tuple[str, ...] = setting((), "the tag's apprise URLs", kind="list of URLs", shown="required")
    timezone: str | None = setting(
        None,
        "time zone of the times in its messages, its quiet hours and its digest cron",
        parse=check_zone,
        kind="time zone",
        shown="`timezone` above",
    )
    quiet_hours: QuietHours | None = setting(
        None,
        "a daily span of local time (it may cross midnight) when nothing is sent to it: "
        "alerts and digests wait for its end",
        parse=parse_quiet_hours,
        kind="`HH:MM-HH:MM`",
    )
    digest: str = setting(
        "0 * * * *",  # on the hour, in the channel's time zone
        "when its digest rules send, unless a rule's `schedule:` says otherwise",
        parse=check_cron,
        kind="cron",
    )


@dataclass(slots=True)
class ChannelsResult:
    """What ``read_channels`` found: URLs by tag, settings by tag, and every error."""

    urls: dict[str, tuple[str, ...]] = field(default_factory=dict)
    settings: dict[str, Channel] = field(default_factory=dict)
    errors: list[ConfigError] = field(default_factory=list)


def read_channels(node: Node, environ: Mapping[str, str], check: bool = False) -> ChannelsResult:
    """Read the ``channels:`` mapping (short and long forms) without raising.

    ``check``: ask apprise whether it can use each URL (this loads its plugins).
    """
    result = ChannelsResult()
    if not isinstance(node.value, dict):
        result.errors.append(node.error("channels must map a tag to apprise URLs"))
        return result
    for tag, (key_node, value) in node.value.items():
        if not isinstance(tag, str) or not _TAG.match(tag):
            result.errors.append(key_node.error(f"channel tag {quoted(tag)} must be lowercase-kebab"))
            continue
        settings = None
        if isinstance(value.value, dict):
            urls_node, settings = _long_form(tag, value, result.errors)
        else:
            urls_node = value
        if urls_node is not None:
            result.urls[tag] = _urls(tag, urls_node, environ, result.errors, check)
        if settings is not None:
            result.settings[tag] = Channel(urls=result.urls.get(tag, ()), **settings)
    return result


def _long_form(tag: str, node: Node, errors: list[ConfigError]) -> tuple[Node | None, dict[str, Any]]:
    """The long form's URL node and its other settings, by attribute name."""
    keys = keys_of(Channel)
    fields: dict[str, Node] = {}
    for key, (key_node, value) in node.value.items():
        if key in keys:
            fields[key] = value
        else:
            errors.append(
                key_node.error(f"unknown key {quoted(key)} in channel {quoted(tag)}; use {', '.join(keys)}")
            )
    if "urls" not in fields:
        errors.append(node.error(f"channel {quoted(tag)} needs 'urls'"))

    def convert(value: Node, parse: Callable[[Any], Any], key: str) -> Any:
        try:
            return parse(value.value)
        except (TypeError, ValueError) as exc:
            errors.append(value.error(f"channel {quoted(tag)} {key}: {exc}"))
            return None

    ordered = {key: fields[key] for key in keys if key in fields}  # errors in declaration order, as before
    return fields.get("urls"), read_values(ordered, settings_of(Channel), convert)


def _urls(
    tag: str, node: Node, environ: Mapping[str, str], errors: list[ConfigError], check: bool
) -> tuple[str, ...]:
    items = node.value if isinstance(node.value, list) else [node]
    urls: list[str] = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item.value, str) or not item.value.strip():
            errors.append(item.error(f"channel {quoted(tag)} URL #{index} must be a non-empty string"))
            continue
        try:
            url = expand_env(item.value, item, dict(environ))
        except ConfigError as error:
            errors.append(error)
            continue
        if not url:  # ``${OPTIONAL_URL:-}``: an unset option, skipped
            continue
        # Say which entry is wrong without echoing it: it may hold a secret.
        what = f"channel {quoted(tag)} URL #{index}{env_origin(item.value)}"
        with _apprise_quiet(check):
            if check:
                _load_apprise()  # first, so protect() also asks apprise now, quietly
            protect([url] if "://" in url else [], env_values(item.value, environ) | {url})
            problem = _apprise_problem(url, from_env=bool(env_origin(item.value))) if check else None
        if "://" not in url:
            errors.append(item.error(f"{what} is not an apprise URL (no '://')"))
            continue
        if problem:
            errors.append(item.error(f"{what} {problem}"))
            continue
        urls.append(url)
    return tuple(dict.fromkeys(urls))  # the same URL twice is sent once


def env_origin(text: object) -> str:
    """`` (from ${NAME})`` for a written value that refers to environment variables, else ``""``.

    Errors about such a value say this instead of quoting it: the expanded value is
    usually a secret (a password in a URL, a token), and a path can be one too.
    """
    names = _ENV_NAME.findall(text) if isinstance(text, str) else []
    refs = ", ".join("${" + name + "}" for name in dict.fromkeys(names))
    return f" (from {refs})" if refs else ""


def _apprise_problem(url: str, from_env: bool) -> str | None:
    """Why apprise cannot use ``url`` (the rest of a sentence), or None when it can.

    ``Apprise.instantiate`` is what the dispatcher calls before each send, so a URL it
    refuses here would fail every alert. The scheme is named when apprise knows it (a
    service's name is no secret) or when it was written in the file itself.
    """
    if "://" not in url:
        return None
    import apprise
    from apprise.manager_plugins import NotificationManager

    _load_apprise()
    if apprise.Apprise.instantiate(url):
        return None
    scheme = url.split(":", 1)[0].lower()  # up to the first ":" (a "://" may sit in the query)
    if scheme in NotificationManager():  # type: ignore[no-untyped-call]
        return f"is not a {scheme}:// URL apprise can use (a token, user or host is missing or malformed)"
    named = "" if from_env else f" {quoted(scheme)}"
    return f"is not an apprise URL: apprise has no service for its scheme{named}"


def _load_apprise() -> None:
    """Load apprise's plugins and register ours (``console://``) with them."""
    import apprise  # noqa: F401

    import monitor.console  # noqa: F401


@contextmanager
def _apprise_quiet(quiet: bool) -> Iterator[None]:
    """Keep apprise's own log lines out while it is asked about URLs: they quote the URL.

    They would be masked (``monitor.redact``), but the error this module reports already
    says which entry is wrong, in a form that names no secret.
    """
    logger = logging.getLogger("apprise")
    disabled = logger.disabled
    logger.disabled = disabled or quiet
    try:
        yield
    finally:
        logger.disabled = disabled


def read_apprise_file(node: Node, base: Path, environ: Mapping[str, str]) -> ChannelsResult:
    """Load apprise's own config file (YAML or text form); each URL joins the channels of its tags.

    ``${ENV}`` references are expanded first, as everywhere in monitor.yaml. apprise logs
    the raw file at debug level, so ``monitor.notify`` redacts what it loads from logs.
    """
    import apprise

    result = ChannelsResult()
    if not isinstance(node.value, str) or not node.value.strip():
        result.errors.append(node.error("apprise must be the path of an apprise config file"))
        return result
    path = base / node.value
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        result.errors.append(node.error(f"cannot read apprise config {path}: {exc.strerror}"))
        return result
    protect((), env_values(text, environ))  # before apprise logs the file's text
    try:
        text = expand_env(text, node, dict(environ))
    except ConfigError as error:
        result.errors.append(error)
        return result
    loader = apprise.AppriseConfig()
    fmt = "yaml" if path.suffix in (".yml", ".yaml") else "text"
    services: list[Any] = list(loader.services()) if loader.add_config(text, format=fmt) else []
    if not services:
        result.errors.append(node.error(f"{path}: apprise found no valid URL in this file"))
    urls: dict[str, list[str]] = {}
    for index, service in enumerate(services, start=1):
        tags = sorted(str(tag) for tag in getattr(service, "tags", ()))
        if not tags:
            result.errors.append(node.error(f"{path}: URL #{index} has no tag, so no rule can name it"))
        for tag in tags:
            urls.setdefault(tag, []).append(str(service.url(privacy=False)))
    result.urls = {tag: tuple(dict.fromkeys(found)) for tag, found in urls.items()}
    protect(url for found in result.urls.values() for url in found)
    return result
