"""The crawl-side sections of monitor.yaml: ``crawl:``, ``operator:`` and a source's polling keys.

Each key is declared once, as a field of ``CrawlSettings`` or ``OperatorSettings`` with its
default, parser and description (``monitor.config.declare``); the README's table of them is
generated from there (``python -m monitor.config.reference``). A source's ``min_interval``
and ``max_interval`` (adaptive polling) are declared on ``monitor.config.model.Source`` and
read here. Like ``monitor.config.channels``,
parsing collects errors instead of raising, through the ``_Reader`` of
``monitor.config.model`` (passed in, so this module does not import it back).

The three waits of ``crawl:`` are each at most ``MAX_CRAWL_WAIT`` (1w): the parent waits for
their sum, and the operating system's wait (``poll``) takes at most 24.8 days; longer, and
the crawl died with ``OverflowError`` after opening its run row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from monitor.config.declare import keys_of, read_values, required, setting, settings_of
from monitor.config.values import boolean, count, parse_duration, parse_size, positive_int, positive_number
from monitor.config.yamlfile import Node
from monitor.errors import ConfigError, quoted

MAX_CRAWL_WAIT = 7 * 86400  # crawl.timeout, page_timeout, retry_after_max: seconds, each


class Reader(Protocol):
    """What this module needs of ``monitor.config.model._Reader``."""

    errors: list[ConfigError]

    def mapping(self, node: Node, what: str, keys: tuple[str, ...]) -> dict[str, Node] | None: ...

    def text(self, node: Node, what: str, env: bool = False) -> str | None: ...

    def convert(self, node: Node, convert: Callable[[Any], Any], what: str) -> Any: ...


def crawl_wait(value: Any) -> int:
    """A duration of at most ``MAX_CRAWL_WAIT``: one of the waits the crawl's parent adds up."""
    return parse_duration(value, maximum=MAX_CRAWL_WAIT)


@dataclass(frozen=True, slots=True)
class CrawlSettings:
    """How every crawl behaves: the limits that keep it polite and bounded in time and size."""

    page_timeout: int = setting(30, "one request's time limit", parse=crawl_wait, kind="duration ≤ 1w")
    timeout: int = setting(
        15 * 60,
        "one crawl's time limit: the crawl closes itself then, keeping what it fetched",
        parse=crawl_wait,
        kind="duration ≤ 1w",
    )
    max_page_size: int = setting(
        8 * 1024 * 1024,
        "pages are cut at this size after decompression (a gzip bomb stops there)",
        parse=parse_size,
        kind="size",
    )
    per_domain: int = setting(2, "requests in flight per host", parse=positive_int, kind="integer ≥ 1")
    workers: int = setting(
        0,
        "parse/match/store worker processes (0: the crawl's own process parses); the crawl "
        "engine's are shared by all its crawls, a `scrapy crawl` child starts its own",
        parse=count,
        kind="integer ≥ 0",
    )
    retry_after_max: int = setting(
        3600,
        "longest `Retry-After` honoured, per host (longer ones are cut to it and recorded)",
        parse=crawl_wait,
        kind="duration ≤ 1w",
    )
    in_process: bool = setting(
        True,
        "`monitor run` and `monitor crawl` crawl every source in one long-lived Scrapy engine in "
        "their own process (false: one `scrapy crawl` child process per crawl, as before)",
        parse=boolean,
        kind="boolean",
    )
    max_entries: int = setting(
        500,
        "entries read from one feed, sitemap or listing, and new articles asked for, per crawl "
        "(the newest first)",
        parse=positive_int,
        kind="integer ≥ 1",
    )


@dataclass(frozen=True, slots=True)
class OperatorSettings:
    """Source-health alerts for whoever runs monitor: where they go and when they fire."""

    channel: str = field(
        metadata=required("the channel tag that gets source-health alerts (failing, silent, recovered)")
    )
    after_failures: int = setting(
        3, "alert when a source fails this many crawls in a row", parse=positive_int, kind="integer ≥ 1"
    )
    silence_factor: float = setting(
        4.0,
        "... or publishes nothing for this many times its usual gap",
        parse=positive_number,
        kind="number > 0",
    )
    min_silence: int = setting(86400, "... and never sooner than this", parse=parse_duration, kind="duration")


def read_crawl(reader: Reader, node: Node) -> CrawlSettings:
    """The ``crawl:`` block; unknown keys and bad values become errors on the reader."""
    fields = reader.mapping(node, "crawl", keys_of(CrawlSettings))
    if fields is None:
        return CrawlSettings()
    return CrawlSettings(**read_values(fields, settings_of(CrawlSettings), reader.convert))


def read_operator(reader: Reader, node: Node, channels: tuple[str, ...]) -> OperatorSettings | None:
    """The ``operator:`` block, or None when it is unusable (the error is on the reader).

    ``channels`` are the configured channel tags; the operator's must be one of them.
    """
    fields = reader.mapping(node, "operator", keys_of(OperatorSettings))
    if fields is None:
        return None
    if "channel" not in fields:
        reader.errors.append(node.error("operator needs 'channel': the tag that gets source-health alerts"))
        return None
    channel_node = fields.pop("channel")
    channel = reader.text(channel_node, "operator channel")
    values = read_values(fields, settings_of(OperatorSettings), reader.convert)
    if channel is None:
        return None
    if channel not in channels:
        known = ", ".join(repr(tag) for tag in channels) or "none"
        reader.errors.append(
            channel_node.error(f"operator channel {quoted(channel)} is not in channels ({known})")
        )
        return None
    return OperatorSettings(channel, **values)


def read_polling(
    reader: Reader, node: Node, fields: dict[str, Node], every: int | None
) -> tuple[int | None, int | None, bool]:
    """A source's ``min_interval`` and ``max_interval``; ``every`` is its schedule's interval.

    ``min_interval`` is the schedule's tick (so it replaces ``schedule.every``) and
    ``max_interval`` turns adaptive polling on. Returns (min, max, ok).
    """
    minimum = maximum = None
    if "min_interval" in fields:
        minimum = reader.convert(fields["min_interval"], parse_duration, "min_interval")
    if "max_interval" in fields:
        maximum = reader.convert(fields["max_interval"], parse_duration, "max_interval")
    if minimum is None and maximum is None:
        return None, None, "min_interval" not in fields and "max_interval" not in fields
    if "schedule" in fields:
        schedule = fields["schedule"].value
        if isinstance(schedule, dict) and "cron" in schedule:
            reader.errors.append(node.error("min_interval/max_interval need an interval schedule, not cron"))
            return None, None, False
        if minimum is not None and isinstance(schedule, dict) and "every" in schedule:
            reader.errors.append(
                fields["min_interval"].error("give min_interval or schedule.every, not both")
            )
            return None, None, False
    lowest = minimum or every
    if maximum is not None and lowest is not None and maximum < lowest:
        reader.errors.append(fields["max_interval"].error("max_interval is shorter than min_interval"))
        return None, None, False
    return minimum, maximum, True
