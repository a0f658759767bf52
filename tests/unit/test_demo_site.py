"""The bundled demo site and its static server: feeds, sitemap, listing, article pages, safety."""

from __future__ import annotations

import http.client
import json
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.etree
import lxml.html
import pytest

from monitor.demo.server import SiteServer, content_type, site_root

if TYPE_CHECKING:
    from collections.abc import Iterator

SEED_PATH = "/autoguide/2010/04/daimler-renault-team-up-for-small-car-alliance.html"
SYNDICATED_PATH = "/motorwire/industry/2010/04/daimler-and-renault-to-form-small-car-alliance-report/"
MW_ARTICLE = re.compile(r"/motorwire/industry/\d{4}/\d{2}/[^/]+/$")
SEED_PARAGRAPHS = [
    "German automaker Daimler AG and French car manufacturer Renault have reportedly agreed on a new "
    "business strategy that will see both parties create a global small-car alliance, sharing development "
    "costs and technology. Details of the deal are set to be announced tomorrow in Brussels with Daimler "
    "CEO Dieter Zetsche and Renault-Nissan Boss Carlos Ghosn taking part.",
    "According to a report by Automotive News Europe, the management boards for each automaker have agreed "
    "to the partnership.",
    "Currently Daimler, parent company to Mercedes-Benz and Smart, is looking to introduce new A-Class and "
    "B-Class models, as well as bring the B-Class to the U.S. New Smart models are also a part of future "
    "plans. Meanwhile, Renault, which owns Japanese automaker Nissan, launched a new sub-compact Micra "
    "(above), which is slated for global sales.",
    "The move is just the latest partnership to emerge in a post-recession auto industry, where automakers "
    "are looking not only for ways to reduce research and development costs, but to partner with companies "
    "with expertise in other areas. Earlier this year, Volkswagen and Suzuki announced a similar "
    "partnership, while Italian automaker Fiat took control of Chrysler in a bid to reduce costs and expand "
    "into new markets.",
    "[Source: Automotive News]",
]
COLUM_BIO_START = (
    "With AutoGuide from its launch, Colum previously acted as Editor-in-Chief of Modified Luxury & Exotics "
    "magazine"
)
BODY_XPATH = (
    "//article//div[contains(@class, 'entry-content') or contains(@class, 'article-body')"
    " or contains(@class, 'mw-story__body')]/p"
)
ALLIANCE_WORDS = re.compile(r"allian|partner|team(s|ed)? up|tie-up|cooperat", re.IGNORECASE)

EXPECTED: list[dict[str, Any]] = json.loads((site_root() / "expected.json").read_text(encoding="utf-8"))
BY_OUTLET = {o: [e for e in EXPECTED if e["outlet"] == o] for o in ("autoguide", "motorwire")}


@pytest.fixture(scope="module")
def server() -> Iterator[SiteServer]:
    with SiteServer(site_root()) as srv:
        yield srv


def fetch(server: SiteServer, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """Send the path as-is (no client-side normalisation), so traversal attempts reach the server."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def page(server: SiteServer, path: str) -> lxml.html.HtmlElement:
    status, headers, body = fetch(server, path)
    assert status == 200, path
    assert headers["content-type"] == "text/html; charset=utf-8"
    return lxml.html.fromstring(body)


def xml(body: bytes) -> Any:
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return lxml.etree.fromstring(body, parser)


def utc(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def body_paragraphs(doc: lxml.html.HtmlElement) -> list[str]:
    return [" ".join(p.text_content().split()) for p in doc.xpath(BODY_XPATH)]


# ------------------------------------------------------------------------------------ expected.json


def test_expected_json_is_consistent() -> None:
    paths = [e["path"] for e in EXPECTED]
    assert len(paths) == len(set(paths)) >= 11
    assert {e["path"] for e in EXPECTED if e["alerts"]} == {SEED_PATH, SYNDICATED_PATH}
    for entry in EXPECTED:
        assert entry["story"] == ("daimler-renault" if entry["alerts"] else None)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["published_at"])
        assert entry["authors"]
        assert entry["path"].startswith(f"/{entry['outlet']}/")
    assert all(MW_ARTICLE.search(e["path"]) for e in BY_OUTLET["motorwire"])


# ------------------------------------------------------------------------------------ discovery


def test_feed_lists_every_autoguide_article(server: SiteServer) -> None:
    status, headers, body = fetch(server, "/autoguide/feed.xml")
    assert status == 200
    assert headers["content-type"] == "application/rss+xml"
    root = xml(body)
    assert root.tag == "rss"
    assert root.get("version") == "2.0"
    items = root.findall("channel/item")
    dc = "{http://purl.org/dc/elements/1.1/}creator"
    by_link = {item.findtext("link"): item for item in items}
    assert set(by_link) == {server.url + e["path"] for e in BY_OUTLET["autoguide"]}
    for entry in BY_OUTLET["autoguide"]:
        item = by_link[server.url + entry["path"]]
        assert item.findtext("title") == entry["title"]
        published = parsedate_to_datetime(item.findtext("pubDate"))
        assert published.utcoffset() is not None
        assert published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") == entry["published_at"]
        assert item.findtext(dc) == entry["authors"][0]
        assert item.findtext("guid")
        assert item.findtext("description")


def test_feed_parses_cleanly_with_feedparser(server: SiteServer) -> None:
    parsed = feedparser.parse(fetch(server, "/autoguide/feed.xml")[2])
    assert not parsed.bozo
    assert parsed.version == "rss20"
    assert len(parsed.entries) == len(BY_OUTLET["autoguide"])


def test_news_sitemap_lists_every_autoguide_article(server: SiteServer) -> None:
    status, headers, body = fetch(server, "/autoguide/news-sitemap.xml")
    assert status == 200
    assert headers["content-type"] == "application/xml"
    ns = {
        "s": "http://www.sitemaps.org/schemas/sitemap/0.9",
        "news": "http://www.google.com/schemas/sitemap-news/0.9",
    }
    urls = xml(body).findall("s:url", ns)
    by_loc = {u.findtext("s:loc", namespaces=ns): u for u in urls}
    assert set(by_loc) == {server.url + e["path"] for e in BY_OUTLET["autoguide"]}
    for entry in BY_OUTLET["autoguide"]:
        url = by_loc[server.url + entry["path"]]
        assert url.findtext("news:news/news:title", namespaces=ns) == entry["title"]
        assert utc(url.findtext("news:news/news:publication_date", namespaces=ns)) == entry["published_at"]
        assert utc(url.findtext("s:lastmod", namespaces=ns)) == entry["published_at"]


def test_robots_allows_everything_and_names_the_sitemap(server: SiteServer) -> None:
    status, headers, body = fetch(server, "/robots.txt")
    assert status == 200
    assert headers["content-type"] == "text/plain; charset=utf-8"
    text = body.decode()
    assert "User-agent: *" in text
    assert "Disallow: /" not in text
    assert f"Sitemap: {server.url}/autoguide/news-sitemap.xml" in text


def test_listing_links_exactly_the_motorwire_articles(server: SiteServer) -> None:
    listing = "/motorwire/industry/"
    doc = page(server, listing)
    links = {urljoin(server.url + listing, href) for href in doc.xpath("//a/@href")}
    local = {urlsplit(u).path + (f"?{urlsplit(u).query}" if urlsplit(u).query else "") for u in links}
    articles = {p for p in local if MW_ARTICLE.search(p)}
    assert articles == {e["path"] for e in BY_OUTLET["motorwire"]}
    # Navigation that a link pattern must leave out is there too.
    assert {"/motorwire/tag/daimler/", "/motorwire/about/", "/motorwire/industry/?page=2"} <= local
    assert any(p.startswith("/motorwire/author/") for p in local)


# ------------------------------------------------------------------------------------ article pages


@pytest.mark.parametrize("entry", EXPECTED, ids=[e["path"] for e in EXPECTED])
def test_article_page_metadata(server: SiteServer, entry: dict[str, Any]) -> None:
    doc = page(server, entry["path"])
    url = server.url + entry["path"]
    assert [" ".join(h.text_content().split()) for h in doc.xpath("//h1")] == [entry["title"]]
    assert entry["title"] in doc.findtext(".//title")
    assert doc.xpath("//link[@rel='canonical']/@href") == [url]
    assert doc.xpath("//meta[@property='og:url']/@content") == [url]
    assert doc.xpath("//meta[@property='og:type']/@content") == ["article"]
    assert doc.xpath("//meta[@property='og:title']/@content") == [entry["title"]]
    published = doc.xpath("//meta[@property='article:published_time']/@content")
    assert len(published) == 1
    assert datetime.fromisoformat(published[0]).utcoffset() is not None
    assert utc(published[0]) == entry["published_at"]
    assert [utc(t) for t in doc.xpath("//article//time/@datetime")] == [entry["published_at"]]
    text = doc.text_content()
    assert all(author in text for author in entry["authors"])
    assert len(body_paragraphs(doc)) >= 2
    assert len(doc.xpath("//script")) >= 3


def test_json_ld_on_most_autoguide_pages_but_not_all(server: SiteServer) -> None:
    with_ld = 0
    for entry in BY_OUTLET["autoguide"]:
        blocks = page(server, entry["path"]).xpath("//script[@type='application/ld+json']/text()")
        if not blocks:
            continue
        with_ld += 1
        data = json.loads(blocks[0])
        assert data["@type"] == "NewsArticle"
        assert data["headline"] == entry["title"]
        assert utc(data["datePublished"]) == entry["published_at"]
        assert data["author"]["name"] == entry["authors"][0]
        assert data["publisher"]["name"] == "AutoGuide.com"
    assert len(BY_OUTLET["autoguide"]) - 3 <= with_ld < len(BY_OUTLET["autoguide"])
    for entry in BY_OUTLET["motorwire"]:
        assert not page(server, entry["path"]).xpath("//script[@type='application/ld+json']")


def test_seed_page_has_the_story_and_its_furniture(server: SiteServer) -> None:
    doc = page(server, SEED_PATH)
    assert body_paragraphs(doc) == SEED_PARAGRAPHS
    text = " ".join(doc.text_content().split())
    assert "by Colum Wood" in text
    assert COLUM_BIO_START in text
    assert "More by Colum Wood" in text
    assert "Comments" in text
    assert "Join the conversation" in text
    more_by = doc.xpath("//*[normalize-space(text())='More by Colum Wood']/following-sibling::ul[1]//a/@href")
    assert len(more_by) == 3
    for href in more_by:
        assert fetch(server, urlsplit(href).path)[0] == 200


def test_syndicated_copy_repeats_the_wire_text(server: SiteServer) -> None:
    doc = page(server, SYNDICATED_PATH)
    paragraphs = body_paragraphs(doc)
    assert paragraphs[:5] == SEED_PARAGRAPHS
    assert "This story originally appeared on AutoGuide." in paragraphs[5:]
    text = " ".join(doc.text_content().split())
    assert "By Colum Wood, AutoGuide" in text
    assert "Trending now" in text
    assert "Sponsored" in text


@pytest.mark.parametrize(
    "entry", [e for e in EXPECTED if not e["alerts"]], ids=[e["path"] for e in EXPECTED if not e["alerts"]]
)
def test_near_miss_body_has_no_daimler_renault_alliance(server: SiteServer, entry: dict[str, Any]) -> None:
    paragraphs = body_paragraphs(page(server, entry["path"]))
    assert not any("Daimler" in p and "Renault" in p for p in paragraphs)
    body = " ".join(paragraphs)
    assert not ("Daimler" in body and "Renault" in body and ALLIANCE_WORDS.search(body))


# ------------------------------------------------------------------------------------ the server


def test_no_placeholder_leaks_from_any_file(server: SiteServer) -> None:
    root = site_root()
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) > 20
    for file in files:
        rel = "/" + file.relative_to(root).as_posix()
        path = rel.removesuffix("index.html")
        status, _, body = fetch(server, path)
        assert status == 200, path
        assert b"{{" not in body, path
        assert b"%7B%7Bbase" not in body, path
        if b"http://127.0.0.1:" in body:
            assert server.url.encode() in body


@pytest.mark.parametrize(
    "path",
    [
        "/nope.html",
        "/autoguide/2010/04/no-such-story.html",
        "/autoguide/",  # a directory without index.html: no listing
        "/../pyproject.toml",
        "/../server.py",
        "/%2e%2e/server.py",
        "/autoguide/../../server.py",
        "/autoguide/%2E%2E/%2E%2E/__init__.py",
        "/..%2fserver.py",
        "/robots.txt%00.html",
    ],
)
def test_not_found(server: SiteServer, path: str) -> None:
    status, headers, body = fetch(server, path)
    assert status == 404
    assert b"{{base}}" not in body
    assert int(headers["content-length"]) == len(body)


def test_directory_without_slash_redirects(server: SiteServer) -> None:
    status, headers, _ = fetch(server, "/motorwire/industry?page=2")
    assert status == 301
    assert headers["location"] == f"{server.url}/motorwire/industry/?page=2"


def test_query_string_is_ignored_and_requests_are_recorded(server: SiteServer) -> None:
    status, _, body = fetch(server, "/motorwire/industry/?page=2")
    assert status == 200
    assert b"mw-card" in body
    assert "/motorwire/industry/?page=2" in server.requests


def test_head_matches_get(server: SiteServer) -> None:
    get_status, get_headers, get_body = fetch(server, SEED_PATH)
    head_status, head_headers, head_body = fetch(server, SEED_PATH, method="HEAD")
    assert get_status == head_status == 200
    assert head_body == b""
    assert int(head_headers["content-length"]) == len(get_body) == int(get_headers["content-length"])
    assert head_headers["content-type"] == get_headers["content-type"]


def test_content_types() -> None:
    root = site_root()
    assert content_type(root / "autoguide/feed.xml") == "application/rss+xml"
    assert content_type(root / "autoguide/news-sitemap.xml") == "application/xml"
    assert content_type(root / "robots.txt") == "text/plain; charset=utf-8"
    assert content_type(root / "expected.json") == "application/json"
    assert content_type(root / "motorwire/industry/index.html") == "text/html; charset=utf-8"


def test_server_counts_requests_and_stops() -> None:
    srv = SiteServer(site_root()).start()
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", srv.url)
        for _ in range(3):
            assert fetch(srv, "/robots.txt")[0] == 200
        assert srv.requests == ["/robots.txt"] * 3
    finally:
        srv.stop()
    srv.stop()  # idempotent
    with pytest.raises(ConnectionRefusedError):
        fetch(srv, "/robots.txt")
