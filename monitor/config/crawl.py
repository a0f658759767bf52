"""The crawl-side sections of monitor.yaml: ``crawl:``, ``operator:`` and a source's polling keys.

::

    contact: https://example.com/about-our-crawler   # goes into the User-Agent
    crawl:
      page_timeout: 30s        # one request
      timeout: 15m             # one whole crawl of one source
      max_page_size: 8MB       # after decompression, so a gzip bomb stops here too
      per_domain: 2            # requests in flight to one host
      workers: 0               # parse/match/store processes per crawl (0: all in the crawl process)
      retry_after_max: 1h      # the longest 429/503 Retry-After honoured (per host; longer ones are cut)
      max_entries: 500         # feed items, sitemap entries, listing links and new articles per crawl
    operator:
      channel: ops             # the channel tag that gets source-health alerts
      after_failures: 3        # ... when a source fails this many crawls in a row
      silence_factor: 4        # ... or publishes nothing for 4x its usual gap
      min_silence: 1d          # ... and never sooner than this
    sources:
      - name: x
        min_interval: 5m       # adaptive polling: between these two, after how often it publishes
        max_interval: 2h

Like ``monitor.config.channels``, parsing collects errors instead of raising, through the
``_Reader`` of ``monitor.config.model`` (passed in, so this module does not import it back).

The three waits of ``crawl:`` are each at most ``MAX_CRAWL_WAIT`` (1w): the parent waits for
their sum, and the operating system's wait (``poll``) takes at most 24.8 days; longer, and
the crawl died with ``OverflowError`` after opening its run row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from monitor.config.yamlfile import Node
from monitor.errors import ConfigError, quoted

_SIZE = re.compile(r"^\s*(\d+)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}
MAX_CRAWL_WAIT = 7 * 86400  # crawl.timeout, page_timeout, retry_after_max: seconds, each


class Reader(Protocol):
    """What this module needs of ``monitor.config.model._Reader``."""

    errors: list[ConfigError]

    def mapping(self, node: Node, what: str, keys: tuple[str, ...]) -> dict[str, Node] | None: ...

    def text(self, node: Node, what: str, env: bool = False) -> str | None: ...

    def convert(self, node: Node, convert: Callable[[Any], Any], what: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class CrawlSettings:
    """How every crawl behaves: the limits that keep it polite and bounded in time and size."""

    page_timeout: int = 30
    timeout: int = 15 * 60
    max_page_size: int = 8 * 1024 * 1024
    per_domain: int = 2
    workers: int = 0
    retry_after_max: int = 3600
    max_entries: int = 500


@dataclass(frozen=True, slots=True)
class OperatorSettings:
    """Source-health alerts for whoever runs monitor: where they go and when they fire."""

    channel: str
    after_failures: int = 3
    silence_factor: float = 4.0
    min_silence: int = 86400


def parse_size(value: Any) -> int:
    """Bytes in ``4194304``, ``"512KB"``, ``"8MB"`` or ``"1GB"``; ``ValueError`` otherwise."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _SIZE.match(str(value))
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"{quoted(value)} is not a size like 512KB or 8MB")
    return int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]


def read_crawl(reader: Reader, node: Node, duration: Callable[..., int]) -> CrawlSettings:
    """The ``crawl:`` block; unknown keys and bad values become errors on the reader.

    ``duration`` is ``monitor.config.model.parse_duration``; it takes a ``maximum``.
    """
    wait = partial(duration, maximum=MAX_CRAWL_WAIT)
    converters: dict[str, Callable[[Any], Any]] = {
        "page_timeout": wait,
        "timeout": wait,
        "retry_after_max": wait,
        "max_page_size": parse_size,
        "per_domain": _positive_int,
        "workers": _count,
        "max_entries": _positive_int,
    }
    fields = reader.mapping(node, "crawl", tuple(converters))
    if fields is None:
        return CrawlSettings()
    values = {key: reader.convert(value, converters[key], key) for key, value in fields.items()}
    return CrawlSettings(**{key: value for key, value in values.items() if value is not None})


def read_operator(
    reader: Reader, node: Node, duration: Callable[[Any], int], channels: tuple[str, ...]
) -> OperatorSettings | None:
    """The ``operator:`` block, or None when it is unusable (the error is on the reader).

    ``channels`` are the configured channel tags; the operator's must be one of them.
    """
    converters: dict[str, Callable[[Any], Any]] = {
        "after_failures": _positive_int,
        "silence_factor": _positive_number,
        "min_silence": duration,
    }
    fields = reader.mapping(node, "operator", ("channel", *converters))
    if fields is None:
        return None
    if "channel" not in fields:
        reader.errors.append(node.error("operator needs 'channel': the tag that gets source-health alerts"))
        return None
    channel_node = fields.pop("channel")
    channel = reader.text(channel_node, "operator channel")
    values = {key: reader.convert(value, converters[key], key) for key, value in fields.items()}
    if channel is None:
        return None
    if channel not in channels:
        known = ", ".join(repr(tag) for tag in channels) or "none"
        reader.errors.append(
            channel_node.error(f"operator channel {quoted(channel)} is not in channels ({known})")
        )
        return None
    return OperatorSettings(channel, **{key: value for key, value in values.items() if value is not None})


def read_polling(
    reader: Reader, node: Node, fields: dict[str, Node], every: int | None, duration: Callable[[Any], int]
) -> tuple[int | None, int | None, bool]:
    """A source's ``min_interval`` and ``max_interval``; ``every`` is its schedule's interval.

    ``min_interval`` is the schedule's tick (so it replaces ``schedule.every``) and
    ``max_interval`` turns adaptive polling on. Returns (min, max, ok).
    """
    minimum = maximum = None
    if "min_interval" in fields:
        minimum = reader.convert(fields["min_interval"], duration, "min_interval")
    if "max_interval" in fields:
        maximum = reader.convert(fields["max_interval"], duration, "max_interval")
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


def boolean(value: Any) -> bool:
    """A YAML ``true``/``false``; anything else is a ``ValueError``."""
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {quoted(value)}")
    return value


def _positive_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"must be a positive whole number, got {quoted(value)}")
    return value


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"must be a whole number, 0 or more, got {quoted(value)}")
    return value


def _positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"must be a positive number, got {quoted(value)}")
    return float(value)
