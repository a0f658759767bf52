"""Value parsers of monitor.yaml, one implementation each: durations, sizes, numbers, zones, crons, addresses.

Each takes what YAML gave (a string, a number, a bool) and returns the value or raises
``ValueError`` with the rest of a sentence; the reader (``monitor.config.model``) puts the
setting's key and the node's ``file:line:col`` in front. The code that later uses a value
builds it with the same function (``zone``, ``cron_trigger``, ``parse_address``), so what
the check accepts is exactly what runs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.errors import quoted

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

_DURATION = re.compile(r"^\s*(\d+)\s*(mo|s|m|h|d|w|y)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mo": 30 * 86400, "y": 365 * 86400}
MAX_DURATION = 10 * _UNITS["y"]  # longest duration a config key takes (10y); timers and columns hold it
DURATION_EXAMPLES = "90s, 15m, 2h, 1d, 2w, 6mo or 1y"
_SIZE = re.compile(r"^\s*(\d+)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}
DEFAULT_HOST = "127.0.0.1"  # where a bare port listens: loopback only


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


def duration_or_zero(value: Any) -> int:
    """A duration, or ``0`` (a schedule's ``jitter: 0`` turns jitter off)."""
    return 0 if value in (0, "0") else parse_duration(value)


def format_duration(seconds: int) -> str:
    """``seconds`` in the largest unit that divides it: ``7d`` as ``1w``, ``90`` as ``90s``."""
    for unit in ("y", "w", "d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def parse_size(value: Any) -> int:
    """Bytes in ``4194304``, ``"512KB"``, ``"8MB"`` or ``"1GB"``; ``ValueError`` otherwise."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _SIZE.match(str(value))
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"{quoted(value)} is not a size like 512KB or 8MB")
    return int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]


def format_size(size: int) -> str:
    """``size`` in the largest unit that divides it: ``8388608`` as ``8MB``."""
    for unit in ("gb", "mb", "kb"):
        if size and size % _SIZE_UNITS[unit] == 0:
            return f"{size // _SIZE_UNITS[unit]}{unit.upper()}"
    return str(size)


def positive_int(value: Any) -> int:
    """A whole number above zero (YAML's ``true`` is not one)."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"must be a positive whole number, got {quoted(value)}")
    return value


def count(value: Any) -> int:
    """A whole number, zero or more."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"must be a whole number, 0 or more, got {quoted(value)}")
    return value


def positive_number(value: Any) -> float:
    """A number above zero, whole or not."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"must be a positive number, got {quoted(value)}")
    return float(value)


def boolean(value: Any) -> bool:
    """A YAML ``true``/``false``; anything else is a ``ValueError``."""
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {quoted(value)}")
    return value


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``ZoneInfo`` caches them); ``ValueError`` if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
        raise ValueError(f"unknown time zone {quoted(name)}") from None


def check_zone(value: Any) -> str:
    """An IANA time zone name; ``ValueError`` otherwise."""
    zone(str(value))
    return str(value)


def cron_trigger(cron: str, timezone: str = "UTC") -> CronTrigger:
    """APScheduler's trigger for a five-field cron line, read in ``timezone``."""
    from apscheduler.triggers.cron import CronTrigger  # only what schedules pays for APScheduler

    return CronTrigger.from_crontab(cron, timezone=zone(timezone))


def check_cron(value: Any) -> str:
    """A five-field cron line APScheduler accepts; ``ValueError`` otherwise."""
    try:
        cron_trigger(str(value))
    except ValueError as exc:  # APScheduler's message quotes the field whole
        message = str(exc)
        raise ValueError(message if len(message) <= 200 else f"{message[:200]}…") from None
    return str(value)


def parse_address(value: Any) -> tuple[str, int]:
    """``9464`` (loopback), ``"0.0.0.0:9464"`` or ``"[::1]:9464"`` as (host, port); else ``ValueError``."""
    host, _, port = str(value).rpartition(":")
    digits = port.isascii() and port.isdigit() and len(port.lstrip("0")) <= 5  # int() of 5,000 digits fails
    if isinstance(value, bool) or not digits or not 0 < int(port) < 65536:
        raise ValueError(f"must be a port number or host:port, got {quoted(value)}")
    return (host.strip("[]") or DEFAULT_HOST), int(port)


def metrics_address(value: Any) -> str:
    """``9464`` or ``"0.0.0.0:9464"`` as ``host:port`` (a bare port listens on loopback only)."""
    host, port = parse_address(value)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
