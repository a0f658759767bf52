"""Hostile feeds and sitemaps: DTDs hidden behind an encoding, entities quoted as text, huge documents.

Everything here is a fixture built in the test: no network, and dates relative to now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from monitor.crawl.feeds import UnsafeXMLError, check_xml, read_feed, read_feed_document, read_sitemap
from monitor.errors import ParseError

NOW = datetime.now(UTC).replace(microsecond=0)
BOMB = (
    '<?xml version="1.0" encoding="{encoding}"?>'
    '<!DOCTYPE rss [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    '<rss version="2.0"><channel><item><title>&lol2;</title><link>http://e.example/1</link></item></channel></rss>'
)
FEED = (
    '<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>Citroën news</title>'
    "<item><title>Citroën présente</title><link>http://e.example/c</link></item></channel></rss>"
)


@pytest.mark.parametrize(
    ("encoding", "codec"),
    [
        ("UTF-32BE", "utf-32-be"),  # no byte-order mark: found from the zero bytes
        ("UTF-32LE", "utf-32-le"),
        ("UTF-32", "utf-32"),  # with a byte-order mark
        ("UTF-16", "utf-16"),  # with a byte-order mark
        ("UTF-16BE", "utf-16-be"),  # no byte-order mark
        ("UTF-8", "utf-8-sig"),  # with a byte-order mark
    ],
)
def test_a_dtd_is_found_whatever_the_encoding(encoding: str, codec: str) -> None:
    body = BOMB.format(encoding=encoding).encode(codec)
    with pytest.raises(UnsafeXMLError, match="DTD with an internal subset"):
        check_xml(body)
    with pytest.raises(UnsafeXMLError):
        read_feed(body, "http://e.example/feed")


def test_ebcdic_is_refused_with_a_reason() -> None:
    body = BOMB.format(encoding="cp500").encode("cp500")
    with pytest.raises(UnsafeXMLError, match="EBCDIC"):
        check_xml(body)
    with pytest.raises(UnsafeXMLError, match="EBCDIC"):
        read_sitemap(body)


def test_a_declared_encoding_that_is_not_ascii_compatible_is_refused() -> None:
    # ASCII-looking bytes that a parser would decode as EBCDIC after the declaration
    body = b'<?xml version="1.0" encoding="cp500"?>' + "<!DOCTYPE a [<!ENTITY x 'y'>]><a/>".encode("cp500")
    with pytest.raises(UnsafeXMLError, match="cp500"):
        check_xml(body)


def test_ucs4_in_an_unusual_byte_order_is_refused() -> None:
    with pytest.raises(UnsafeXMLError, match="unsupported encoding"):
        check_xml(b"\x00\x00\x3c\x00\x00\x00\x3f\x00")


@pytest.mark.parametrize(("encoding", "codec"), [("UTF-16", "utf-16"), ("UTF-32BE", "utf-32-be")])
def test_wide_feeds_without_a_dtd_are_read(encoding: str, codec: str) -> None:
    (entry,) = read_feed(FEED.format(encoding=encoding).encode(codec), "http://e.example/feed")
    assert (entry.url, entry.title) == ("http://e.example/c", "Citroën présente")


def test_a_utf16_sitemap_is_read() -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-16"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>http://e.example/é</loc></url></urlset>"
    ).encode("utf-16")
    assert [entry.url for entry in read_sitemap(body).entries] == ["http://e.example/é"]


def test_an_entity_quoted_in_cdata_is_text_not_a_declaration() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>XML tips</title>'
        b'<link>http://e.example/tips</link><description><![CDATA[Write <!ENTITY x "y"> and '
        b"<!DOCTYPE a [ ]> in a DTD]]></description></item></channel></rss>"
    )
    assert check_xml(body) == body
    assert [entry.url for entry in read_feed(body, "http://e.example/feed")] == ["http://e.example/tips"]


def test_a_declaration_after_a_comment_in_the_prolog_is_still_found() -> None:
    body = b'<?xml version="1.0"?>\n<!-- <rss> --><?pi x?>\n<!ENTITY x "y"><rss/>'
    with pytest.raises(UnsafeXMLError, match="prolog"):
        check_xml(body)


def _rss(items: str) -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()
    )


def _item(name: str, age: timedelta | None) -> str:
    date = f"<pubDate>{format_datetime(NOW - age, usegmt=True)}</pubDate>" if age is not None else ""
    return f"<item><title>{name}</title><link>http://e.example/{name}</link>{date}</item>"


def test_a_huge_feed_keeps_its_newest_entries() -> None:
    old = "".join(_item(f"old{n}", timedelta(days=30, minutes=n)) for n in range(20_000))
    new = "".join(_item(f"new{n}", timedelta(minutes=n)) for n in range(3))
    document = read_feed_document(_rss(old + new), "http://e.example/feed", limit=5)
    assert [entry.url.rsplit("/", 1)[1] for entry in document.entries] == [
        "new0",
        "new1",
        "new2",
        "old0",
        "old1",
    ]
    assert document.skipped == 20_003 - 5


def test_undated_feed_entries_are_kept_in_document_order() -> None:
    document = read_feed_document(_rss("".join(_item(f"u{n}", None) for n in range(10))), "u", limit=3)
    assert [entry.url.rsplit("/", 1)[1] for entry in document.entries] == ["u0", "u1", "u2"]
    assert document.skipped == 7


def test_a_feed_within_the_limit_is_read_whole() -> None:
    body = _rss("".join(_item(f"a{n}", timedelta(hours=n)) for n in range(4)))
    document = read_feed_document(body, "http://e.example/feed", limit=4)
    assert (len(document.entries), document.skipped) == (4, 0)


def test_a_sitemap_index_of_thousands_keeps_the_newest_children() -> None:
    stale = "".join(
        f"<sitemap><loc>http://e.example/s{n}.xml</loc>"
        f"<lastmod>{NOW - timedelta(days=400 + n):%Y-%m-%d}</lastmod></sitemap>"
        for n in range(10_000)
    )
    fresh = (
        f"<sitemap><loc>http://e.example/real.xml</loc><lastmod>{NOW:%Y-%m-%dT%H:%M:%SZ}</lastmod></sitemap>"
    )
    body = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{stale}{fresh}</sitemapindex>"
    ).encode()
    document = read_sitemap(body, limit=2)
    assert document.kind == "sitemapindex"
    assert [entry.url for entry in document.entries] == [
        "http://e.example/real.xml",
        "http://e.example/s0.xml",
    ]
    assert document.skipped == 9_999


def test_a_plain_text_sitemap_keeps_its_first_urls() -> None:
    body = "".join(f"http://e.example/{n}\n" for n in range(1000)).encode()
    document = read_sitemap(body, limit=10)
    assert [entry.url for entry in document.entries] == [f"http://e.example/{n}" for n in range(10)]
    assert document.skipped == 990


def test_a_sitemap_that_is_not_one_says_so() -> None:
    with pytest.raises(ParseError, match="root element is <html>"):
        read_sitemap(b"<html><body>hi</body></html>", limit=3)
