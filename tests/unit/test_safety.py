"""The address guard (no private addresses, http/https only, on every redirect hop) and XML safety."""

from __future__ import annotations

import asyncio
import ipaddress
import time

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from monitor.crawl.feeds import UnsafeXMLError, check_xml, read_feed, read_sitemap
from monitor.crawl.safety import (
    AddressGuardMiddleware,
    BlockedAddressError,
    GuardedResolver,
    RefusedRequest,
    embedded_ipv4,
    is_public,
    refusal,
)

PUBLIC = "93.184.216.34"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.8",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "not-an-address",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public(address)


# Every IPv6 form that carries an IPv4 address: (address, the IPv4 it carries).
EMBEDDED = [
    ("::ffff:127.0.0.1", "mapped"),
    ("::ffff:7f00:1", "mapped, hex"),
    ("::ffff:10.0.0.8", "mapped"),
    ("::127.0.0.1", "compatible"),
    ("[::127.0.0.1]", "compatible, as written in a URL"),
    ("::7f00:1", "compatible, hex"),
    ("::169.254.169.254", "compatible"),
    ("::192.168.1.1", "compatible"),
    ("64:ff9b::127.0.0.1", "NAT64"),
    ("64:ff9b::7f00:1", "NAT64, hex"),
    ("64:ff9b::a9fe:a9fe", "NAT64 to the metadata address"),
    ("64:ff9b::10.1.2.3", "NAT64"),
    ("64:ff9b:1::a00:1", "local-use NAT64 (RFC 8215)"),
    ("64:ff9b:1:7f00:1::", "local-use NAT64, IPv4 after a /48 prefix"),
    ("64:ff9b:1::8.8.8.8", "local-use NAT64 is never global"),
    ("2002:7f00:1::", "6to4 from 127.0.0.1"),
    ("2002:7f00:1:ffff::1", "6to4 from 127.0.0.1, any subnet"),
    ("2002:a9fe:a9fe::1", "6to4 from 169.254.169.254"),
    ("2002:c0a8:101::1", "6to4 from 192.168.1.1"),
    ("2002:a00:8::1", "6to4 from 10.0.0.8"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo, client 127.0.0.1 (XOR-ed)"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fff7", "Teredo, client 10.0.0.8 (XOR-ed)"),
    ("2001:0:4136:e378:8000:63bf:5601:5601", "Teredo, client 169.254.169.254 (XOR-ed)"),
]


@pytest.mark.parametrize(("address", "form"), EMBEDDED)
def test_ipv6_forms_carrying_a_private_ipv4_are_refused(address: str, form: str) -> None:
    assert not is_public(address), form
    host = address if address.startswith("[") else f"[{address}]"
    reason = refusal(f"http://{host}/feed.xml")
    assert reason is not None, form
    assert "private, loopback or link-local" in reason


@pytest.mark.parametrize(
    ("address", "carried"),
    [
        ("::ffff:127.0.0.1", ["127.0.0.1"]),
        ("::127.0.0.1", ["127.0.0.1"]),
        ("64:ff9b::a9fe:a9fe", ["169.254.169.254"]),
        ("2002:7f00:1::", ["127.0.0.1"]),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", ["65.54.227.120", "127.0.0.1"]),  # server, client
        ("2001:4860:4860::8888", []),
    ],
)
def test_the_ipv4_an_ipv6_address_carries(address: str, carried: list[str]) -> None:
    assert [str(ip) for ip in embedded_ipv4(ipaddress.IPv6Address(address))] == carried


@pytest.mark.parametrize(
    "address",
    [
        PUBLIC,
        "8.8.8.8",
        "2001:4860:4860::8888",
        "[2606:4700::1111]",
        "::ffff:8.8.8.8",  # mapped, carrying a public address
        "64:ff9b::8.8.8.8",  # NAT64 to a public address: how an IPv6-only network reaches it
    ],
)
def test_public_addresses(address: str) -> None:
    assert is_public(address)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///etc/passwd", "scheme 'file'"),
        ("ftp://example.com/feed.xml", "scheme 'ftp'"),
        ("gopher://example.com/", "scheme 'gopher'"),
        ("data:text/html,hello", "scheme 'data'"),
        ("http://127.0.0.1:6379/", "127.0.0.1 is a private"),
        ("http://[::1]/feed", "::1 is a private"),
        ("http://[::127.0.0.1]/feed", "::127.0.0.1 is a private"),
        ("http://[64:ff9b::7f00:1]:6379/", "64:ff9b::7f00:1 is a private"),
        ("http://[2002:a9fe:a9fe::]/latest/meta-data/", "2002:a9fe:a9fe:: is a private"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http:///no-host", "without a host"),
    ],
)
def test_refused_urls(url: str, words: str) -> None:
    reason = refusal(url)
    assert reason is not None
    assert words in reason


def test_allowed_urls() -> None:
    assert refusal(f"https://{PUBLIC}/feed") is None
    assert refusal("https://www.example.com/feed") is None  # a name: its address is checked later
    assert refusal("http://127.0.0.1:8642/feed.xml", allow_private=True) is None
    assert refusal("file:///etc/passwd", allow_private=True) is not None  # the scheme check stays


def guard(allow_private: bool = False) -> AddressGuardMiddleware:
    return AddressGuardMiddleware(allow_private)


def test_the_guard_refuses_a_redirect_hop_to_the_metadata_address() -> None:
    crawler = get_crawler(settings_dict={"REDIRECT_MAX_TIMES": 5})
    redirects = RedirectMiddleware.from_crawler(crawler)
    first = Request(f"http://{PUBLIC}/feed.xml")
    asyncio.run(guard().process_request(first))  # a public address passes
    response = Response(
        first.url, status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}, request=first
    )
    hop = redirects.process_response(first, response)
    assert isinstance(hop, Request)
    with pytest.raises(RefusedRequest, match=r"169\.254\.169\.254"):
        asyncio.run(guard().process_request(hop))


def test_the_guard_refuses_a_redirect_to_another_scheme() -> None:
    hop = Request(f"http://{PUBLIC}/feed.xml").replace(url="file:///etc/passwd")
    with pytest.raises(RefusedRequest, match="only http and https"):
        asyncio.run(guard(allow_private=True).process_request(hop))


def test_allow_private_lets_loopback_through() -> None:
    asyncio.run(guard(allow_private=True).process_request(Request("http://127.0.0.1:8642/feed.xml")))


def test_the_resolver_refuses_names_that_resolve_inside() -> None:
    with pytest.raises(BlockedAddressError, match=r"localhost resolves to 127\.0\.0\.1"):
        GuardedResolver._check("127.0.0.1", "localhost")
    assert GuardedResolver._check(PUBLIC, "example.com") == PUBLIC


# -- XML: no DTDs, no entities ----------------------------------------------------------------
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<rss version="2.0"><channel><item><title>&lol2;</title><link>http://e.example/1</link></item></channel></rss>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&secret;</loc></url></urlset>"""
NETSCAPE = b"""<?xml version="1.0"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><item><title>Old</title><link>http://e.example/old</link></item></channel></rss>"""


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        EXTERNAL,
        "<?xml version='1.0' encoding='utf-16'?><!DOCTYPE a [<!ENTITY x 'y'>]><urlset/>".encode("utf-16"),
    ],
)
def test_dtds_with_declarations_are_refused(body: bytes) -> None:
    with pytest.raises(UnsafeXMLError):
        check_xml(body)


def test_feeds_and_sitemaps_with_entities_are_refused_before_parsing() -> None:
    with pytest.raises(UnsafeXMLError):
        read_feed(BILLION_LAUGHS, "http://e.example/feed")
    with pytest.raises(UnsafeXMLError):
        read_sitemap(EXTERNAL)


def test_a_bare_external_doctype_is_stripped_and_the_feed_read() -> None:
    assert b"DOCTYPE" not in check_xml(NETSCAPE)
    assert [entry.url for entry in read_feed(NETSCAPE, "http://e.example/feed")] == ["http://e.example/old"]


def test_a_huge_author_does_not_stall_feedparser() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>t</title>'
        b"<link>http://e.example/a</link><author>" + b"a" * 200_000 + b"</author></item></channel></rss>"
    )
    started = time.monotonic()
    assert [entry.url for entry in read_feed(body, "http://e.example/feed")] == ["http://e.example/a"]
    assert time.monotonic() - started < 2  # feedparser's own regex is quadratic: minutes here


def test_news_sitemap_dates_and_titles() -> None:
    body = b"""<?xml version="1.0"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>http://e.example/a</loc><lastmod>2026-11-26</lastmod><news:news>
<news:publication><news:name>E</news:name><news:language>en</news:language></news:publication>
<news:publication_date>2026-11-26T09:30:00+01:00</news:publication_date><news:title>Alliance</news:title>
</news:news></url></urlset>"""
    (entry,) = read_sitemap(body).entries
    assert entry.title == "Alliance"
    assert entry.published is not None
    assert entry.published.isoformat() == "2026-11-26T08:30:00+00:00"
    assert entry.modified is not None
    assert entry.modified.isoformat() == "2026-11-26T00:00:00+00:00"
