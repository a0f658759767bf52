"""Who may use the desk, and proof that an action came from the desk's own page.

- Bound to a loopback address with no password configured, the desk is open to whoever
  can reach it (this machine); ``TrustedHostMiddleware`` refuses other ``Host`` headers so
  a web page cannot reach it through DNS rebinding.
- Otherwise a login (one shared password whose scrypt hash comes from the configuration,
  a signed session cookie) or a per-user token (``Authorization: Bearer``, or ``?token=``
  for feed readers, which cannot send headers) is required. Listening beyond loopback
  with neither is refused at start.
- Every action (POST) carries a CSRF token: the double-submit pattern, a random value in a
  ``SameSite=Strict`` cookie that the form (``csrf_token``) or script (``X-CSRF-Token``)
  must echo; requests authenticated by a bearer token need none, as no browser sends it
  on its own.

Only the standard library is needed: ``hashlib.scrypt`` for the password, HMAC-SHA256 for
the cookies, ``secrets`` for the tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import time

from monitor.errors import ConfigError

SESSION_COOKIE = "desk_session"
CSRF_COOKIE = "desk_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_SECONDS = 12 * 3600
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def hash_password(password: str) -> str:
    """The form stored in the configuration: ``scrypt$N$r$p$salt$hash`` (base64)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)
    parts = [str(_SCRYPT["n"]), str(_SCRYPT["r"]), str(_SCRYPT["p"]), _b64(salt), _b64(digest)]
    return "scrypt$" + "$".join(parts)


def check_password_hash(stored: str) -> None:
    """``ConfigError`` unless ``stored`` is a hash ``hash_password`` wrote (checked at start)."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or not all(part.isdigit() for part in parts[1:4]):
        raise ConfigError("the desk's password hash is not in the form `monitor web-password` prints")


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (constant-time comparison)."""
    check_password_hash(stored)
    _, n, r, p, salt, digest = stored.split("$")
    expected = _unb64(digest)
    computed = hashlib.scrypt(
        password.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
    )
    return hmac.compare_digest(computed, expected)


def new_token() -> str:
    """A fresh API/feed token: 32 random bytes, URL-safe."""
    return secrets.token_urlsafe(32)


def sign_session(user: str, secret: bytes, now: float | None = None) -> str:
    """A session cookie value: the user, its expiry and their HMAC."""
    expires = int((now if now is not None else time.time()) + SESSION_SECONDS)
    payload = f"{_b64(user.encode('utf-8'))}.{expires}"
    return f"{payload}.{_mac(payload, secret)}"


def session_user(value: str | None, secret: bytes, now: float | None = None) -> str | None:
    """The user of a valid, unexpired session cookie, else ``None``."""
    if not value or value.count(".") != 2:
        return None
    encoded, expires, mac = value.split(".")
    if not hmac.compare_digest(mac, _mac(f"{encoded}.{expires}", secret)):
        return None
    if not expires.isdigit() or int(expires) < (now if now is not None else time.time()):
        return None
    try:
        return _unb64(encoded).decode("utf-8")
    except ValueError:
        return None


def csrf_matches(cookie: str | None, sent: str | None) -> bool:
    """Whether the CSRF value sent with an action is the one in the browser's cookie."""
    return bool(cookie) and bool(sent) and hmac.compare_digest(str(cookie), str(sent))


def new_csrf() -> str:
    """A fresh CSRF value for a browser that has none."""
    return secrets.token_urlsafe(24)


def _mac(payload: str, secret: bytes) -> str:
    return _b64(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
