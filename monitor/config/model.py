"""Loading and validating ``monitor.yaml``.

Precedence, implemented once in ``load_config``: built-in defaults < the file <
environment (``MONITOR_DATABASE_URL``) < explicit overrides from CLI flags. Every error
is collected with its ``file:line:col`` so ``monitor check`` can report all of them.
Rule files are loaded by ``monitor.watch.rules``; this module only knows where they are.

What fails later is refused here, with the library that would fail: channel URLs by
apprise itself (``check_channels``: the commands ask, the crawl children do not pay for
loading apprise's plugins), the database URL by SQLAlchemy's ``make_url`` and dialect
registry, CSS selectors by lxml's ``cssselect`` translator, link patterns by RE2
(``google-re2``, which the spider matches with: linear time, so no pattern can backtrack
for minutes), and durations against a documented maximum (``MAX_DURATION``) so that no
timer downstream overflows. A value that came from ``${ENV}`` is never echoed in an
error: the error names the variable instead, since the value is usually a secret.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.config.channels import (
    Channel,
    check_cron,
    check_zone,
    env_origin,
    read_apprise_file,
    read_channels,
)
from monitor.config.crawl import (
    CrawlSettings,
    OperatorSettings,
    boolean,
    read_crawl,
    read_operator,
    read_polling,
)
from monitor.config.dburl import sqlite_file, with_sqlite_file
from monitor.config.yamlfile import Node, expand_env, load_yaml
from monitor.errors import ConfigError, quoted

SOURCE_KINDS = ("feed", "sitemap", "listing")
DEFAULT_USER_AGENT = "monitor/0.1 (+https://github.com/monitor-news/monitor)"
DEFAULT_SCHEDULE_SECONDS = 15 * 60
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_DURATION = re.compile(r"^\s*(\d+)\s*(mo|s|m|h|d|w|y)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mo": 30 * 86400, "y": 365 * 86400}
MAX_DURATION = 10 * _UNITS["y"]  # longest duration a config key takes (10y); timers and columns hold it
DURATION_EXAMPLES = "90s, 15m, 2h, 1d, 2w, 6mo or 1y"


class ConfigErrors(ConfigError):
    """Several configuration errors found in one pass; ``errors`` lists each one."""

    def __init__(self, errors: list[ConfigError]) -> None:
        super().__init__("\n".join(str(error) for error in errors))
        self.errors = errors

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a source is crawled: every ``every`` seconds, or on a five-field ``cron``."""

    every: int | None = DEFAULT_SCHEDULE_SECONDS
    cron: str | None = None
    jitter: int = 30

    def __post_init__(self) -> None:
        if (self.every is None) == (self.cron is None):
            raise ValueError("a schedule needs exactly one of 'every' and 'cron'")


@dataclass(frozen=True, slots=True)
class Source:
    """One outlet entry point: a feed, a (news) sitemap or a section listing page."""

    name: str
    kind: str
    url: str
    follow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    schedule: Schedule = field(default_factory=Schedule)
    selectors: Mapping[str, str] = field(default_factory=dict)
    allow_private: bool = False  # loopback/private/link-local addresses: tests and intranets only
    max_interval: int | None = None  # adaptive polling between schedule.every and this
    max_age: int | None = None  # sitemap/feed entries dated older than this are not fetched

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ValueError(f"unknown source kind {quoted(self.kind)}")


@dataclass(frozen=True, slots=True)
class Config:
    """Everything ``monitor`` needs, resolved and validated. Built once by the CLI."""

    path: Path | None
    database_url: str
    sources: tuple[Source, ...] = ()
    channels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    rule_paths: tuple[Path, ...] = ()
    user_agent: str = DEFAULT_USER_AGENT
    timezone: str = "UTC"
    dispatch_every: int = 60
    max_attempts: int = 5
    max_age: int = 86400  # seconds an alert keeps being retried before it is failed
    lease: int = 300  # seconds a dispatcher owns a claimed alert before another may take it
    channel_settings: Mapping[str, Channel] = field(default_factory=dict)
    templates: Path | None = None  # a folder whose Jinja2 templates override the built-in ones
    crawl: CrawlSettings = field(default_factory=CrawlSettings)
    operator: OperatorSettings | None = None
    metrics_port: str | None = None  # "host:port" of /metrics and /healthz (a bare port: loopback)
    scrapyd: tuple[str, ...] = ()  # scrapyd node URLs: crawls go there instead of child processes

    def source(self, name: str) -> Source:
        """The source called ``name``; ``ConfigError`` with suggestions if there is none."""
        for source in self.sources:
            if source.name == name:
                return source
        names = [source.name for source in self.sources]
        raise ConfigError(f"no source named {quoted(name)}{_suggest(name, names)}")


def default_database_url(base_dir: Path) -> str:
    """The SQLite file used when nothing else is configured: ``monitor.db`` beside the config."""
    return f"sqlite:///{(base_dir / 'monitor.db').resolve()}"


def load_config(
    path: Path | str,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    check_channels: bool = False,
) -> Config:
    """Read ``path`` into a ``Config``; raise ``ConfigErrors`` listing every problem.

    ``check_channels``: also ask apprise whether it can use every channel URL. The
    commands do (``monitor check`` and every CLI command); the processes that never send
    (crawl children, ingest workers) read a file their parent already checked and do not
    load apprise's plugins (about 0.2 s of CPU each).
    """
    import os

    env = dict(os.environ if environ is None else environ)
    path = Path(path)
    reader = _Reader(env, check_channels)
    try:
        root = load_yaml(path)
    except ConfigError as error:
        raise ConfigErrors([error]) from None
    config = reader.config(root, path)
    if reader.errors:
        raise ConfigErrors(reader.errors)
    assert config is not None
    changes: dict[str, Any] = {}
    if env.get("MONITOR_DATABASE_URL"):
        changes["database_url"] = env["MONITOR_DATABASE_URL"]
        if problem := database_problem(changes["database_url"], from_env=True):
            raise ConfigErrors([ConfigError(f"database URL (from MONITOR_DATABASE_URL) {problem}")])
    changes.update({key: value for key, value in (overrides or {}).items() if value is not None})
    if changes:
        from dataclasses import replace

        config = replace(config, **changes)
    return config


def parse_duration(text: str | int, maximum: int = MAX_DURATION) -> int:
    """Seconds in ``"90"``, ``"15m"``, ``"2h"``, ``"1d"``, ``"2w"``, ``"6mo"`` or ``"1y"``.

    ``m`` is minutes, ``mo`` a month of 30 days, ``y`` a year of 365 days. ``ValueError``
    for anything else, and for more than ``maximum`` seconds: ``timeout: 999999999999999d``
    would otherwise overflow a timer (``OverflowError``) in the middle of a crawl.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        seconds = text
    else:
        match = _DURATION.match(str(text)) if isinstance(text, str) else None
        if not match:
            raise ValueError(f"{quoted(text)} is not a duration like {DURATION_EXAMPLES}")
        digits, unit = match.groups()
        if len(digits) > 20:  # int() of thousands of digits is slow, and far above any maximum
            raise ValueError(f"{quoted(text)} is longer than the maximum, {format_duration(maximum)}")
        seconds = int(digits) * _UNITS[unit or "s"]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    if seconds > maximum:
        raise ValueError(f"{quoted(text)} is longer than the maximum, {format_duration(maximum)}")
    return seconds


def format_duration(seconds: int) -> str:
    """``seconds`` in the largest unit that divides it: ``7d`` as ``1w``, ``90`` as ``90s``."""
    for unit in ("y", "w", "d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def database_problem(url: str, from_env: bool = False) -> str | None:
    """What is wrong with a database URL, as the rest of a sentence; None when it is usable.

    SQLAlchemy parses it (``make_url``), finds its dialect and imports its driver, as
    ``create_engine`` would, without connecting. ``from_env``: the URL came from an
    environment variable, so not even the name it gives a database is echoed.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from monitor.config.dburl import driver_url

    try:
        parsed = make_url(driver_url(url))
    except (ArgumentError, ValueError):
        return "is not a SQLAlchemy URL like sqlite:///monitor.db or postgresql://user@host/db"
    try:
        dialect: Any = parsed.get_dialect()
    except NoSuchModuleError:
        name = "" if from_env else f" ({quoted(parsed.drivername)})"
        return f"names a database or driver SQLAlchemy does not know{name}; use sqlite:// or postgresql://"
    if dialect.name not in ("sqlite", "postgresql"):
        return f"is for {dialect.name}; monitor supports SQLite and PostgreSQL"
    if getattr(dialect, "is_async", False):
        return f"names the asyncio driver {dialect.driver}; use postgresql:// (psycopg 3)"
    try:
        dialect.import_dbapi()
    except ImportError:
        return f"names the driver {dialect.driver}, which is not installed; use postgresql:// (psycopg 3)"
    return None


def compile_link_pattern(pattern: str) -> Any:
    """``pattern`` compiled by RE2 (``re2.error`` if RE2 cannot), as link patterns are matched.

    RE2 runs in linear time, so ``(a+)+$`` cannot stall a crawl; it has no backreferences
    or lookaround. ``log_errors`` off: RE2 would print its own parse errors on stderr.
    """
    import re2

    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options)


def check_css(selector: Any) -> str:
    """``selector`` if lxml can use it as ``monitor.parse`` does, else ``ValueError``.

    cssselect (through ``lxml.cssselect``) translates it to XPath, which is what fails on
    a page otherwise; Scrapy's ``::text`` and ``::attr()`` are not CSS and fail here too.
    """
    from cssselect import SelectorError
    from lxml.cssselect import CSSSelector

    try:
        CSSSelector(str(selector), translator="html")
    except SelectorError as exc:
        raise ValueError(
            f"{quoted(selector)} is not a CSS selector lxml can use ({_cut(str(exc))})"
        ) from None
    return str(selector)


def _shown(node: Node, value: str) -> str:
    """How an error shows ``value``, which ``node`` expanded: quoted, or where it came from."""
    return env_origin(node.value) or f" {quoted(value)}"


def _cut(text: str, limit: int = 160) -> str:
    """A library's message about our input, cut short: it may quote the input whole."""
    return text if len(text) <= limit else f"{text[:limit]}…"


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {quoted(close[0])}?)" if close else ""


class _Reader:
    """Walks the YAML node tree, collecting every error instead of stopping at the first."""

    def __init__(self, environ: dict[str, str], check_channels: bool = False) -> None:
        self.environ = environ
        self.check_channels = check_channels
        self.errors: list[ConfigError] = []
        self.channel_settings: dict[str, Channel] = {}

    def mapping(self, node: Node, what: str, keys: tuple[str, ...]) -> dict[str, Node] | None:
        if not isinstance(node.value, dict):
            self.errors.append(node.error(f"{what} must be a mapping"))
            return None
        result: dict[str, Node] = {}
        for key, (key_node, value_node) in node.value.items():
            if key not in keys:
                self.errors.append(
                    key_node.error(f"unknown key {quoted(key)} in {what}{_suggest(str(key), list(keys))}")
                )
                continue
            result[key] = value_node
        return result

    def text(self, node: Node, what: str, env: bool = False) -> str | None:
        if not isinstance(node.value, str) or not node.value.strip():
            self.errors.append(node.error(f"{what} must be a non-empty string"))
            return None
        if not env:
            return node.value
        try:
            return expand_env(node.value, node, self.environ)
        except ConfigError as error:
            self.errors.append(error)
            return None

    def texts(self, node: Node, what: str, env: bool = False) -> tuple[str, ...]:
        items = node.value if isinstance(node.value, list) else [node]
        values = (self.text(item, what, env) for item in items)
        return tuple(value for value in values if value is not None)

    def convert(self, node: Node, convert: Callable[[Any], Any], what: str) -> Any:
        try:
            return convert(node.value)
        except (TypeError, ValueError) as exc:
            self.errors.append(node.error(f"{what}: {exc}"))
            return None

    def config(self, root: Node, path: Path) -> Config | None:
        if root.value is None:
            fields: dict[str, Node] | None = {}
        else:
            keys = (
                "database",
                "user_agent",
                "timezone",
                "rules",
                "sources",
                "channels",
                "dispatch",
                "apprise",
                "templates",
                "contact",
                "crawl",
                "operator",
                "metrics_port",
                "scrapyd",
            )
            fields = self.mapping(root, "monitor.yaml", keys)
        if fields is None:
            return None
        base = path.parent
        database = default_database_url(base)
        if "database" in fields and (url := self.text(fields["database"], "database", env=True)):
            database = _resolve_sqlite(url, base)
            origin = env_origin(fields["database"].value)
            if problem := database_problem(database, from_env=bool(origin)):
                self.errors.append(fields["database"].error(f"database URL{origin} {problem}"))
        sources = self.sources(fields["sources"]) if "sources" in fields else ()
        channels = self.channels(fields["channels"]) if "channels" in fields else {}
        if "apprise" in fields:
            found = read_apprise_file(fields["apprise"], base, self.environ)
            self.errors += found.errors
            channels = {
                tag: tuple(dict.fromkeys(channels.get(tag, ()) + found.urls.get(tag, ())))
                for tag in {**channels, **found.urls}
            }
        templates = None
        if "templates" in fields and (folder := self.text(fields["templates"], "templates", env=True)):
            templates = (base / folder).resolve()
            if not templates.is_dir():
                shown = _shown(fields["templates"], str(templates))
                self.errors.append(fields["templates"].error(f"templates folder{shown} does not exist"))
        rule_nodes = fields.get("rules")
        rules = self.texts(rule_nodes, "rules path", env=True) if rule_nodes else ("rules",)
        timezone = "UTC"
        if "timezone" in fields and (tz := self.text(fields["timezone"], "timezone")):
            timezone = self.convert(fields["timezone"], check_zone, "timezone") or "UTC"
            del tz
        user_agent = DEFAULT_USER_AGENT
        if "contact" in fields and (contact := self.text(fields["contact"], "contact", env=True)):
            user_agent = f"monitor/0.1 (+{contact})"
        if "user_agent" in fields:
            user_agent = self.text(fields["user_agent"], "user_agent") or DEFAULT_USER_AGENT
        dispatch_every, max_attempts, max_age, lease = 60, 5, 86400, 300
        if "dispatch" in fields and (
            dispatch := self.mapping(
                fields["dispatch"], "dispatch", ("every", "max_attempts", "max_age", "lease")
            )
        ):
            if "max_age" in dispatch:
                max_age = self.convert(dispatch["max_age"], parse_duration, "max_age") or max_age
            if "lease" in dispatch:
                lease = self.convert(dispatch["lease"], parse_duration, "lease") or lease
            if "every" in dispatch:
                dispatch_every = self.convert(dispatch["every"], parse_duration, "every") or 60
            if "max_attempts" in dispatch:
                max_attempts = self.convert(dispatch["max_attempts"], _positive_int, "max_attempts") or 5
        return Config(
            path=path,
            database_url=database,
            sources=sources,
            channels=channels,
            rule_paths=tuple((base / rule).resolve() for rule in rules),
            user_agent=user_agent,
            timezone=timezone,
            dispatch_every=dispatch_every,
            max_attempts=max_attempts,
            max_age=max_age,
            lease=lease,
            channel_settings=self.channel_settings,
            templates=templates,
            crawl=read_crawl(self, fields["crawl"], parse_duration) if "crawl" in fields else CrawlSettings(),
            operator=read_operator(self, fields["operator"], parse_duration, tuple(channels))
            if "operator" in fields
            else None,
            metrics_port=self.convert(fields["metrics_port"], _metrics_address, "metrics_port")
            if "metrics_port" in fields
            else None,
            scrapyd=self.nodes(fields["scrapyd"]) if "scrapyd" in fields else (),
        )

    def nodes(self, node: Node) -> tuple[str, ...]:
        urls = self.texts(node, "scrapyd node URL", env=True)
        for url in urls:
            if not re.match(r"^https?://", url):
                self.errors.append(node.error("a scrapyd node URL must start with http:// or https://"))
        return urls

    def sources(self, node: Node) -> tuple[Source, ...]:
        if not isinstance(node.value, list):
            self.errors.append(node.error("sources must be a list"))
            return ()
        result: list[Source] = []
        seen: set[str] = set()
        for item in node.value:
            source = self.source(item)
            if source is None:
                continue
            if source.name in seen:
                self.errors.append(item.error(f"duplicate source name {quoted(source.name)}"))
                continue
            seen.add(source.name)
            result.append(source)
        return tuple(result)

    def source(self, node: Node) -> Source | None:
        keys: tuple[str, ...] = ("name", "kind", "url", "follow", "deny", "schedule", "selectors")
        keys += ("allow_private", "min_interval", "max_interval", "max_age")
        fields = self.mapping(node, "source", keys)
        if fields is None:
            return None
        missing = [key for key in ("name", "kind", "url") if key not in fields]
        if missing:
            self.errors.append(node.error(f"source needs {', '.join(repr(key) for key in missing)}"))
            return None
        name = self.text(fields["name"], "source name")
        if name is not None and not _NAME.match(name):
            self.errors.append(fields["name"].error(f"source name {quoted(name)} must be lowercase-kebab"))
            name = None
        kind = self.text(fields["kind"], "source kind")
        if kind is not None and kind not in SOURCE_KINDS:
            hint = _suggest(kind, list(SOURCE_KINDS))
            self.errors.append(
                fields["kind"].error(
                    f"unknown source kind {quoted(kind)}{hint}; use feed, sitemap or listing"
                )
            )
            kind = None
        url = self.text(fields["url"], "source url", env=True)
        if url is not None and not re.match(r"^https?://", url):
            shown = _shown(fields["url"], url)
            self.errors.append(fields["url"].error(f"source url{shown} must start with http:// or https://"))
            url = None
        follow = self.patterns(fields.get("follow"), "follow")
        deny = self.patterns(fields.get("deny"), "deny")
        schedule = self.schedule(fields["schedule"]) if "schedule" in fields else Schedule()
        selectors: dict[str, str] = {}
        if "selectors" in fields and (
            sel := self.mapping(
                fields["selectors"], "selectors", ("title", "body", "authors", "published_at")
            )
        ):
            selectors = {
                key: css
                for key, value in sel.items()
                if self.text(value, key) and (css := self.convert(value, check_css, f"selectors.{key}"))
            }
        minimum, maximum, ok = read_polling(
            self, node, fields, schedule.every if schedule else None, parse_duration
        )
        if minimum is not None and schedule is not None:
            schedule = Schedule(every=minimum, jitter=schedule.jitter)
        private = (
            self.convert(fields["allow_private"], boolean, "allow_private")
            if "allow_private" in fields
            else False
        )
        max_age = self.convert(fields["max_age"], parse_duration, "max_age") if "max_age" in fields else None
        if name is None or kind is None or url is None or schedule is None or not ok:
            return None
        return Source(name, kind, url, follow, deny, schedule, selectors, bool(private), maximum, max_age)

    def patterns(self, node: Node | None, what: str) -> tuple[str, ...]:
        """A source's ``follow`` or ``deny`` patterns, each compiled by RE2 as the spider matches them."""
        if node is None:
            return ()
        import re2

        patterns: list[str] = []
        for item in node.value if isinstance(node.value, list) else [node]:
            pattern = self.text(item, f"{what} pattern")
            if pattern is None:
                continue
            try:
                compile_link_pattern(pattern)
            except re2.error as exc:
                reason = exc.args[0] if exc.args else "invalid"
                reason = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
                self.errors.append(
                    item.error(
                        f"{what} pattern {quoted(pattern)} is not RE2 syntax ({_cut(reason)}); "
                        "link patterns are RE2 regular expressions: no backreferences or lookaround"
                    )
                )
                continue
            patterns.append(pattern)
        return tuple(patterns)

    def schedule(self, node: Node) -> Schedule | None:
        fields = self.mapping(node, "schedule", ("every", "cron", "jitter"))
        if fields is None:
            return None
        every = self.convert(fields["every"], parse_duration, "every") if "every" in fields else None
        cron = self.text(fields["cron"], "cron") if "cron" in fields else None
        if cron is not None and self.convert(fields["cron"], check_cron, "cron") is None:
            cron = None
        jitter = 30
        if "jitter" in fields:
            jitter = self.convert(fields["jitter"], _duration_or_zero, "jitter")
        if ("every" in fields) == ("cron" in fields):
            self.errors.append(node.error("schedule needs exactly one of 'every' and 'cron'"))
            return None
        if (every is None and cron is None) or jitter is None:
            return None
        return Schedule(every=every, cron=cron, jitter=jitter)

    def channels(self, node: Node) -> dict[str, tuple[str, ...]]:
        found = read_channels(node, self.environ, check=self.check_channels)
        self.errors += found.errors
        self.channel_settings = found.settings
        return found.urls


def _resolve_sqlite(url: str, base: Path) -> str:
    """Make a relative ``sqlite:///file.db`` relative to the config file, not the cwd."""
    path = sqlite_file(url)
    if path is None or path.is_absolute():
        return url
    return with_sqlite_file(url, (base / path).resolve())


def _positive_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"must be a positive whole number, got {quoted(value)}")
    return value


def _duration_or_zero(value: Any) -> int:
    return 0 if value in (0, "0") else parse_duration(value)


def _metrics_address(value: Any) -> str:
    """``9464`` or ``"0.0.0.0:9464"`` as ``host:port`` (a bare port listens on loopback only)."""
    host, _, port = str(value).rpartition(":")
    if isinstance(value, bool) or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"must be a port number or host:port, got {quoted(value)}")
    return f"{host or '127.0.0.1'}:{int(port)}"
