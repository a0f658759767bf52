"""The ``web:`` block of monitor.yaml: where the analysts' desk (``monitor web``) listens, and its login.

Only the address and the login live here; the desk itself is ``monitor.web``. The password
hash and the session key are read with ``${ENV}`` expansion, so both can stay out of the
file, and the session key is registered with ``monitor.redact`` like any other secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.config.crawl import Reader
from monitor.config.declare import keys_of, read_values, setting, settings_of
from monitor.config.values import parse_address
from monitor.config.yamlfile import Node
from monitor.redact import protect

DEFAULT_LISTEN = "127.0.0.1:8080"


def listen_address(value: Any) -> str:
    """``8080`` (loopback), ``"0.0.0.0:8080"`` or ``"[::1]:8080"`` as ``host:port``."""
    host, port = parse_address(value)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class DeskSettings:
    """How ``monitor web`` is served: open on loopback, a login or tokens anywhere else."""

    listen: str = setting(
        DEFAULT_LISTEN,
        "where `monitor web` listens; beyond loopback it asks for the login or a token",
        parse=listen_address,
        kind="port or host:port",
    )
    password_hash: str | None = setting(
        None,
        "the login's password hash, from `monitor web-password` (write `${ENV}` to keep it out of the file)",
        kind="string",
    )
    session_secret: str | None = setting(
        None,
        "the key that signs login cookies (`${ENV}`); unset: a new one each start, so logins end with it",
        kind="string",
    )


def read_desk(reader: Reader, node: Node) -> DeskSettings:
    """The ``web:`` block; unknown keys and bad values become errors on the reader."""
    fields = reader.mapping(node, "web", keys_of(DeskSettings))
    if fields is None:
        return DeskSettings()
    values = read_values(fields, settings_of(DeskSettings), reader.convert)
    for key in ("password_hash", "session_secret"):
        if key in fields and (text := reader.text(fields[key], f"web {key}", env=True)) is not None:
            values[key] = text
    if values.get("session_secret"):
        protect((), [values["session_secret"]])
    return DeskSettings(**values)
