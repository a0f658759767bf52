"""The address guard: http and https only, and no private, loopback or link-local address, on every hop.

Scrapy fetches whatever URL it is handed and follows redirects anywhere; it does not block
private or cloud-metadata addresses. A feed entry or a redirect pointing at
``http://169.254.169.254/latest/meta-data`` or ``http://localhost:6379/`` would otherwise be
fetched from inside the network that runs monitor. Two pieces close that:

- ``AddressGuardMiddleware``, a Scrapy downloader middleware, sees every request, each
  hop that ``RedirectMiddleware`` creates included (a redirect is a new request that goes
  through the whole middleware chain again). It refuses any scheme but http and https and
  resolves the host through the reactor's resolver to check the address;
- ``GuardedResolver`` (Scrapy's ``TWISTED_DNS_RESOLVER``) is the resolver the connection
  itself uses, and refuses such answers too. Both go through Scrapy's DNS cache, so the
  connection goes to the address that was checked; a name that resolves differently later
  (DNS rebinding) meets the resolver's own check.

A source with ``allow_private: true`` (tests on 127.0.0.1, intranet sites) turns the
address check off for its crawl (setting ``MONITOR_ALLOW_PRIVATE``); the scheme check stays.
Python's ``ipaddress`` decides what is public: ``is_global``, and for IPv6 forms that carry an
IPv4 address (IPv4-mapped and -compatible, NAT64, 6to4, Teredo) the carried address too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.error import DNSLookupError

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from twisted.internet.defer import Deferred

SCHEMES = frozenset({"http", "https"})
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # ::a.b.c.d, deprecated (RFC 4291): never public
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix: the IPv4 in the last 32 bits
# RFC 8215 local-use NAT64: the operator picks where the IPv4 sits, and it is not globally
# reachable (IANA special-purpose registry), so all of it is refused.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


class RefusedRequest(IgnoreRequest):
    """Raised by ``AddressGuardMiddleware`` for a URL monitor will not fetch; says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BlockedAddressError(DNSLookupError):
    """Raised by ``GuardedResolver`` when a name resolves to a non-public address."""


def is_public(address: str) -> bool:
    """Whether ``address`` (an IP literal) is a public, routable unicast address.

    An IPv6 address that carries an IPv4 address (``embedded_ipv4``) is public only if
    every IPv4 address it carries is: ``[::127.0.0.1]``, ``64:ff9b::a9fe:a9fe`` (NAT64 to
    169.254.169.254) or ``2002:7f00:1::`` (6to4 from 127.0.0.1) reach the inside as
    surely as the IPv4 literal would, and ``ipaddress`` calls several of them global.
    """
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # only the IPv4 address counts (what a socket connects to)
            return _public(ip.ipv4_mapped)
        if ip in _LOCAL_NAT64 or ip in _IPV4_COMPATIBLE:
            return False
        if not all(_public(carried) for carried in embedded_ipv4(ip)):
            return False
    return _public(ip)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: mapped, compatible, NAT64, 6to4, Teredo."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip in _IPV4_COMPATIBLE or ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:  # 2002::/16, the IPv4 address in bits 16-48
        found.append(ip.sixtofour)
    if ip.teredo is not None:  # 2001::/32: (server, client), the client un-XOR-ed by ipaddress
        found.extend(ip.teredo)
    return found


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_multicast


def is_ip_literal(host: str) -> bool:
    """Whether ``host`` is an IPv4 or IPv6 address rather than a name."""
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def refusal(url: str, allow_private: bool = False) -> str | None:
    """Why ``url`` must not be fetched judging by the URL alone, or None if it may be.

    A host that is a name still needs its resolved address checked (``address_refusal``).
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return f"malformed URL {url[:200]!r}"
    if parts.scheme.lower() not in SCHEMES:
        return f"scheme {parts.scheme or '(none)'!r} refused: only http and https are fetched"
    if not host:
        return "URL without a host"
    if not allow_private and is_ip_literal(host) and not is_public(host):
        return f"{host} is a private, loopback or link-local address (allow_private is off)"
    return None


def address_refusal(host: str, address: str) -> str | None:
    """Why the resolved ``address`` of ``host`` must not be fetched, or None if it is public."""
    if is_public(address):
        return None
    return f"{host} resolves to {address}, a private, loopback or link-local address (allow_private is off)"


class AddressGuardMiddleware:
    """Downloader middleware: refuse non-http(s) URLs and non-public addresses on every hop."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        return cls(crawler.settings.getbool("MONITOR_ALLOW_PRIVATE"))

    async def process_request(self, request: Request) -> None:
        """Raise ``RefusedRequest`` for a URL or an address that is not allowed."""
        reason = refusal(request.url, self.allow_private)
        if reason is not None:
            raise RefusedRequest(reason)
        host = urlparse_cached(request).hostname or ""
        if self.allow_private or is_ip_literal(host):
            return
        from twisted.internet import reactor

        resolver: Any = reactor  # IReactorCore.resolve, through the installed GuardedResolver
        try:
            address = await maybe_deferred_to_future(resolver.resolve(host))
        except BlockedAddressError as exc:
            raise RefusedRequest(str(exc)) from None
        except DNSLookupError:
            return  # the download itself reports the lookup failure (and may retry it)
        reason = address_refusal(host, address)
        if reason is not None:
            raise RefusedRequest(reason)


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing names that resolve to non-public addresses."""

    allow_private = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> GuardedResolver:
        resolver: GuardedResolver = super().from_crawler(crawler, reactor)
        resolver.allow_private = crawler.settings.getbool("MONITOR_ALLOW_PRIVATE")
        return resolver

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        """Resolve ``name``; fail with ``BlockedAddressError`` for a non-public answer."""
        result: Deferred[str] = super().getHostByName(name, timeout)
        if not self.allow_private:
            result.addCallback(self._check, name)
        return result

    @staticmethod
    def _check(address: str, name: str) -> str:
        reason = address_refusal(name, address)
        if reason is not None:
            raise BlockedAddressError(reason)
        return address
