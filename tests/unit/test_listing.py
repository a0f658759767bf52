"""Listing pages: links streamed, matched by RE2, capped in page order (``monitor.crawl.listing``)."""

from __future__ import annotations

import pytest

from monitor.crawl.listing import LinkFilter, extract_links

PAGE = b"""<html><head><base href="http://e.example/news/"></head><body>
<a href=" one.html ">One <b>bold</b>
 story</a><a href="/img/photo.JPG">photo</a><a href="javascript:void(0)">js</a>
<a href="mailto:x@e.example">mail</a><map><area href="two.html"></map><a href="one.html">again</a>
<a href="/about/">about</a><a href="three.html?id=caf\xc3\xa9">three</a></body></html>"""


def test_links_as_scrapys_link_extractor_gives_them() -> None:
    links = extract_links(PAGE, "http://e.example/", "utf-8", LinkFilter([], ["/about/"]), None)
    assert [(entry.url, entry.title) for entry in links.entries] == [
        ("http://e.example/news/one.html", "One bold story"),
        ("http://e.example/news/two.html", None),
        ("http://e.example/news/three.html?id=caf%C3%A9", "three"),
    ]
    assert links.skipped == 0


def test_follow_patterns_pick_links() -> None:
    links = extract_links(PAGE, "http://e.example/", "utf-8", LinkFilter([r"/t\w+\.html"], []), None)
    assert [entry.url.rsplit("/", 1)[1] for entry in links.entries] == ["two.html", "three.html?id=caf%C3%A9"]


@pytest.mark.timeout(20)
def test_a_backtracking_pattern_runs_in_linear_time() -> None:
    page = b'<a href="/news/' + b"a" * 60 + b'!">bait</a><a href="/news/ok.html">ok</a>'
    links = extract_links(page, "http://e.example/", "utf-8", LinkFilter(["(a+)+$"], ["(x+x+)+y"]), None)
    assert [
        entry.url for entry in links.entries
    ] == []  # neither URL ends in a's; Python's re takes hours here
    wanted = LinkFilter([r"/news/"], [r"(a+)+!$"])
    assert [
        entry.url for entry in extract_links(page, "http://e.example/", "utf-8", wanted, None).entries
    ] == ["http://e.example/news/ok.html"]


def test_the_first_links_are_kept_and_the_rest_not_read() -> None:
    page = "".join(f'<p><a href="/n/{n}">{n}</a></p>' for n in range(50_000)).encode()
    links = extract_links(page, "http://e.example/", "utf-8", LinkFilter([], []), 10)
    assert [entry.url for entry in links.entries] == [f"http://e.example/n/{n}" for n in range(10)]
    assert links.skipped == 50_000 - 10  # counted in the bytes, not parsed


def test_a_pattern_re2_cannot_take_is_an_error() -> None:
    import re2

    with pytest.raises(re2.error):
        LinkFilter([r"(a)\1"], [])


def test_a_link_in_the_last_bytes_and_an_encoding_libxml2_lacks() -> None:
    page = "<a href=/é>é</a><a href=/last>last".encode("mac_roman")
    links = extract_links(page, "http://e.example/", "mac_roman", LinkFilter([], []), None)
    assert [(entry.url, entry.title) for entry in links.entries] == [
        ("http://e.example/%C3%A9", "é"),
        ("http://e.example/last", "last"),
    ]
