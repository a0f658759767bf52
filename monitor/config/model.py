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

Every setting is declared once, as a field of the dataclasses here (``Config`` with its
flat ``dispatch:`` fields, ``Source``, ``Schedule``) and of ``CrawlSettings``,
``OperatorSettings`` (``monitor.config.crawl``) and ``Channel`` (``monitor.config.channels``):
key, type, default, parser and description (``monitor.config.declare``). The reader takes
its known keys and conversions from there; the README's table is generated from there
(``python -m monitor.config.reference``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.config.channels import Channel, env_origin, read_apprise_file, read_channels
from monitor.config.crawl import CrawlSettings, OperatorSettings, read_crawl, read_operator, read_polling
from monitor.config.dburl import sqlite_file, with_sqlite_file
from monitor.config.declare import (
    default_of,
    keys_of,
    parser_of,
    read_values,
    required,
    setting,
    setting_from,
    settings_of,
)
from monitor.config.desk import DeskSettings, read_desk
from monitor.config.values import (
    boolean,
    check_cron,
    check_zone,
    duration_or_zero,
    metrics_address,
    parse_duration,
    positive_int,
)
from monitor.config.yamlfile import Node, expand_env, load_yaml
from monitor.errors import ConfigError, quoted

SOURCE_KINDS = ("feed", "sitemap", "listing")
PRODUCT = "monitor/0.1"  # the User-Agent's product token; the contact page follows it
PROJECT_URL = "https://github.com/monitor-news/monitor"
DEFAULT_RULES = "rules"  # the rule folder beside monitor.yaml when ``rules:`` is not given
SELECTOR_FIELDS = ("title", "body", "authors", "published_at")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def user_agent_for(contact: str) -> str:
    """The User-Agent header naming ``contact`` as the page that says who runs the crawler."""
    return f"{PRODUCT} (+{contact})"


DEFAULT_USER_AGENT = user_agent_for(PROJECT_URL)


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

    every: int | None = setting(
        15 * 60, "crawl every this long (give `every` or `cron`)", parse=parse_duration, kind="duration"
    )
    cron: str | None = setting(None, "crawl on this five-field cron line (in UTC) instead", kind="cron")
    jitter: int = setting(
        30,
        "up to this long added at random to each `every` crawl's start (0: none)",
        parse=duration_or_zero,
        kind="duration or 0",
    )

    def __post_init__(self) -> None:
        if (self.every is None) == (self.cron is None):
            raise ValueError("a schedule needs exactly one of 'every' and 'cron'")


@dataclass(frozen=True, slots=True)
class Source:
    """One outlet entry point: a feed, a (news) sitemap or a section listing page."""

    name: str = field(metadata=required("a unique lowercase-kebab name", kind="name"))
    kind: str = field(metadata=required("`feed`, `sitemap` or `listing`", kind="word"))
    url: str = field(metadata=required("where it starts: http:// or https://", kind="URL"))
    follow: tuple[str, ...] = setting(
        (),
        "listings: the links to follow, as [RE2](https://github.com/google/re2/wiki/Syntax) regexes "
        "(no backreferences or lookaround; matched in linear time)",
        kind="list of regexes",
        shown="every link",
    )
    deny: tuple[str, ...] = setting(
        (), "listings: links never followed (RE2 regexes)", kind="list of regexes"
    )
    schedule: Schedule = setting_from(Schedule, "when it is crawled: a source's `schedule:` below")
    selectors: Mapping[str, str] = setting_from(
        dict,
        "CSS for `title`, `body`, `authors`, `published_at`, as lxml's cssselect reads it (no `::text`)",
        shown="found by the parser",
    )
    allow_private: bool = setting(
        False,
        "fetch loopback, private and link-local addresses (intranets, the tests and the demo)",
        parse=boolean,
        kind="boolean",
    )
    min_interval: int | None = setting(
        None,
        "adaptive polling: the shortest gap between crawls (the schedule's tick, "
        "instead of `schedule.every`)",
        parse=parse_duration,
        kind="duration",
    )
    max_interval: int | None = setting(
        None,
        "adaptive polling, on: the longest gap; crawls come after half the median gap between its articles",
        parse=parse_duration,
        kind="duration",
    )
    max_age: int | None = setting(
        None,
        "sitemap and feed entries dated older than this are not fetched",
        parse=parse_duration,
        kind="duration",
    )

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ValueError(f"unknown source kind {quoted(self.kind)}")


@dataclass(frozen=True, slots=True)
class Config:
    """Everything ``monitor`` needs, resolved and validated. Built once by the CLI.

    Each field with a YAML key is declared with ``setting()`` (``monitor.config.declare``):
    its key, default, parser and the README's description are here and nowhere else.
    """

    path: Path | None
    database_url: str = field(
        metadata=required(
            "SQLAlchemy URL; `postgresql://...` for PostgreSQL. `MONITOR_DATABASE_URL` overrides it. "
            "Checked when loaded (SQLAlchemy parses it and finds its driver; no connection): SQLite "
            "or PostgreSQL with a synchronous, installed driver",
            key="database",
            kind="URL",
            shown="`sqlite:///monitor.db` beside the file",
        )
    )
    rule_paths: tuple[Path, ...] = setting(
        (),
        "rule files or folders, relative to the file",
        key="rules",
        kind="list of paths",
        shown=f"`[{DEFAULT_RULES}]`",
    )
    sources: tuple[Source, ...] = setting(
        (), "the outlets to crawl: the keys of each entry below", kind="list"
    )
    channels: Mapping[str, tuple[str, ...]] = setting_from(
        dict,
        "tag → list of apprise URLs (`mailto://`, `slack://`, `matrix://`, `ntfy://`, `json://`, "
        "`console://`), or tag → the long form below. Every command asks apprise "
        "whether it can use each URL before it starts",
        shown="none",
    )
    apprise: Path | None = setting(
        None,
        "an apprise config file (YAML or text); each URL joins the channels named by its tags",
        kind="path",
    )
    templates: Path | None = setting(
        None,
        "a folder of Jinja2 templates overriding the built-in ones by name (`alert_title.txt`, `alert.md`, "
        "`alert.html`, `digest_title.txt`, `digest.md`, `digest.html`; see `monitor/notify/templates/`)",
        kind="path",
        shown="built-in",
    )
    timezone: str = setting("UTC", "time zone of the times in alerts", parse=check_zone, kind="time zone")
    contact: str | None = setting(
        None,
        f"your crawler's contact page: the User-Agent becomes `{PRODUCT} (+CONTACT)`",
        kind="URL",
        shown="the project's URL",
    )
    user_agent: str = setting(DEFAULT_USER_AGENT, "the whole User-Agent header, instead of `contact`")
    dispatch_every: int = setting(
        60,
        "how often the scheduler sends due alerts, closes digest windows and rereads the rule files",
        key="every",
        parse=parse_duration,
        kind="duration",
        section="dispatch",
    )
    max_attempts: int = setting(
        5,
        "sends tried before an alert is marked failed",
        parse=positive_int,
        kind="integer ≥ 1",
        section="dispatch",
    )
    alert_max_age: int = setting(
        86400,
        "how long an alert keeps being retried before it is marked failed",
        key="max_age",
        parse=parse_duration,
        kind="duration",
        section="dispatch",
    )
    lease: int = setting(
        300,
        "how long a dispatcher owns a claimed alert before another may take it",
        parse=parse_duration,
        kind="duration",
        section="dispatch",
    )
    crawl: CrawlSettings = setting_from(CrawlSettings, "how every crawl behaves: `crawl:` below")
    operator: OperatorSettings | None = setting(
        None, "source-health alerts (failing, silent, recovered): `operator:` below", kind="mapping"
    )
    web: DeskSettings = setting_from(DeskSettings, "the analysts' desk (`monitor web`): `web:` below")
    metrics_port: str | None = setting(
        None,
        "serve Prometheus `/metrics` and `/healthz` from `monitor run` on this port (loopback) "
        'or `"HOST:PORT"`',
        parse=metrics_address,
        kind="port or host:port",
    )
    scrapyd: tuple[str, ...] = setting(
        (),
        "scrapyd node URLs (`http://user:pass@host:6800`): `monitor run` hands crawls to them "
        "instead of child processes",
        kind="list of URLs",
    )
    channel_settings: Mapping[str, Channel] = field(default_factory=dict)  # from ``channels:``' long form

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

    def value(self, fields: Mapping[str, Node], cls: type, key: str, default: Any = None) -> Any:
        """The value of ``key`` converted by its declared parser; ``default`` when it is absent.

        None when it is present but wrong (the error is recorded).
        """
        if key not in fields:
            return default
        return self.convert(fields[key], parser_of(cls, key), key)

    def config(self, root: Node, path: Path) -> Config | None:
        if root.value is None:
            fields: dict[str, Node] | None = {}
        else:
            fields = self.mapping(root, "monitor.yaml", keys_of(Config))
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
        apprise = None
        if "apprise" in fields:
            found = read_apprise_file(fields["apprise"], base, self.environ)
            self.errors += found.errors
            channels = {
                tag: tuple(dict.fromkeys(channels.get(tag, ()) + found.urls.get(tag, ())))
                for tag in {**channels, **found.urls}
            }
            if isinstance(fields["apprise"].value, str):
                apprise = base / fields["apprise"].value
        templates = None
        if "templates" in fields and (folder := self.text(fields["templates"], "templates", env=True)):
            templates = (base / folder).resolve()
            if not templates.is_dir():
                shown = _shown(fields["templates"], str(templates))
                self.errors.append(fields["templates"].error(f"templates folder{shown} does not exist"))
        rule_nodes = fields.get("rules")
        rules = self.texts(rule_nodes, "rules path", env=True) if rule_nodes else (DEFAULT_RULES,)
        timezone = default_of(Config, "timezone")
        if "timezone" in fields and self.text(fields["timezone"], "timezone"):
            timezone = self.value(fields, Config, "timezone") or timezone
        user_agent, contact = DEFAULT_USER_AGENT, None
        if "contact" in fields and (contact := self.text(fields["contact"], "contact", env=True)):
            user_agent = user_agent_for(contact)
        if "user_agent" in fields:
            user_agent = self.text(fields["user_agent"], "user_agent", env=True) or DEFAULT_USER_AGENT
        dispatch: dict[str, Any] = {}
        if "dispatch" in fields and (
            nodes := self.mapping(fields["dispatch"], "dispatch", keys_of(Config, "dispatch"))
        ):
            dispatch = read_values(nodes, settings_of(Config, "dispatch"), self.convert)
        return Config(
            path=path,
            database_url=database,
            rule_paths=tuple((base / rule).resolve() for rule in rules),
            sources=sources,
            channels=channels,
            apprise=apprise,
            templates=templates,
            timezone=timezone,
            contact=contact,
            user_agent=user_agent,
            **dispatch,
            crawl=read_crawl(self, fields["crawl"]) if "crawl" in fields else CrawlSettings(),
            operator=read_operator(self, fields["operator"], tuple(channels))
            if "operator" in fields
            else None,
            web=read_desk(self, fields["web"]) if "web" in fields else DeskSettings(),
            metrics_port=self.value(fields, Config, "metrics_port"),
            scrapyd=self.nodes(fields["scrapyd"]) if "scrapyd" in fields else (),
            channel_settings=self.channel_settings,
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
        fields = self.mapping(node, "source", keys_of(Source))
        if fields is None:
            return None
        missing = [item.key for item in settings_of(Source) if item.required and item.key not in fields]
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
        if "selectors" in fields and (sel := self.mapping(fields["selectors"], "selectors", SELECTOR_FIELDS)):
            selectors = {
                key: css
                for key, value in sel.items()
                if self.text(value, key) and (css := self.convert(value, check_css, f"selectors.{key}"))
            }
        minimum, maximum, ok = read_polling(self, node, fields, schedule.every if schedule else None)
        if minimum is not None and schedule is not None:
            schedule = Schedule(every=minimum, jitter=schedule.jitter)
        private = self.value(fields, Source, "allow_private", default_of(Source, "allow_private"))
        max_age = self.value(fields, Source, "max_age")
        if name is None or kind is None or url is None or schedule is None or not ok:
            return None
        return Source(
            name,
            kind,
            url,
            follow=follow,
            deny=deny,
            schedule=schedule,
            selectors=selectors,
            allow_private=bool(private),
            min_interval=minimum,
            max_interval=maximum,
            max_age=max_age,
        )

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
        fields = self.mapping(node, "schedule", keys_of(Schedule))
        if fields is None:
            return None
        every = self.value(fields, Schedule, "every")
        cron = self.text(fields["cron"], "cron") if "cron" in fields else None
        if cron is not None and self.convert(fields["cron"], check_cron, "cron") is None:
            cron = None
        jitter = self.value(fields, Schedule, "jitter", default_of(Schedule, "jitter"))
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
