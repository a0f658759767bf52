"""The body pipeline's shortcuts must not change what trafilatura extracts."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import pytest

from monitor.parse import parse_html
from monitor.parse.authors import page_bylines
from monitor.parse.body import (
    _UNREAD,
    _keep_page_wrappers,
    clean_lines,
    prune_hidden,
    strip_unread,
    unwrap_layout_tables,
)
from monitor.parse.decode import decode_html
from monitor.parse.page import build_tree

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import trafilatura
    from trafilatura.settings import BASIC_CLEAN_XPATH, MANUALLY_CLEANED

PAGES = Path(__file__).parent.parent / "fixtures" / "pages"
_OPTIONS = {
    "fast": True,
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "deduplicate": False,
    "with_metadata": False,
    "output_format": "txt",
}

_NOISY_PAGE = """<!DOCTYPE html><html lang="en"><head><title>Headline | Site</title>
<meta name="description" content="x"><style>p{color:red}</style><script>var a = "<p>not text</p>";</script>
<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Headline"}</script></head>
<body><header><nav><a href="/">Home</a> <a href="/news/">News</a></nav></header>
<main><article><h1>Headline</h1>
<p>First paragraph of the article, long enough to be taken as text by the extractor.
<script>ad()</script>
It goes on after an inline script.</p>
<svg viewBox="0 0 10 10"><path d="M0 0h10"/><text>icon</text></svg>
<p>Second paragraph with <b>bold</b> words<style>.x{}</style> and a tail,
again long enough to count as body.</p>
<aside class="related"><h2>Related</h2><p>Another story teaser that is not part of this article.</p></aside>
<p>Third paragraph closing the article with a quote from a spokesperson of the company involved.</p>
</article></main>
<footer><p>Copyright 2024 Site</p>
<script type="application/ld+json">{"@type": "Organization", "name": "Site"}</script>
</footer></body></html>"""


def _pages() -> list[str]:
    return [_NOISY_PAGE, *(decode_html(p.read_bytes()) for p in sorted(PAGES.glob("*.html")))]


def test_trafilatura_deletes_what_strip_unread_removes() -> None:
    # Guard for trafilatura upgrades: strip_unread is only safe while both its tree
    # cleaning and its raw-tree fallbacks delete these elements themselves.
    for tag in (*_UNREAD, "script", "head"):
        assert tag in MANUALLY_CLEANED
    for tag in (*_UNREAD, "script"):
        assert f".//{tag}" in BASIC_CLEAN_XPATH.path


@pytest.mark.parametrize("index", range(len(_pages())))
def test_strip_unread_leaves_the_extraction_unchanged(index: int) -> None:
    tree = build_tree(_pages()[index])
    stripped = copy.deepcopy(tree)
    strip_unread(stripped)
    assert trafilatura.extract(stripped, **_OPTIONS) == trafilatura.extract(tree, **_OPTIONS)
    assert trafilatura.html2txt(stripped) == trafilatura.html2txt(tree)


def test_strip_unread_keeps_json_ld_in_document_order() -> None:
    tree = build_tree(_NOISY_PAGE)
    strip_unread(tree)
    assert not tree.xpath("//style|//svg|//aside|//footer|//title|//meta")
    scripts = tree.xpath("//script")
    assert [s.get("type") for s in scripts] == ["application/ld+json"] * 2
    assert "NewsArticle" in scripts[0].text
    assert "Organization" in scripts[1].text
    paragraph = tree.xpath("//p")[0].text_content()
    assert "inline script" in paragraph
    assert "ad()" not in paragraph


@pytest.mark.parametrize(
    ("attributes", "found"),
    [
        ('class="byline"', True),
        ('class="c-byline__name"', True),
        ('class="author-name"', True),
        ('class="autor"', True),
        ('class="autor meta"', True),
        ('class="auteur"', True),
        ('class="article-author"', True),
        ('class="author__name"', True),
        ('class="author"', True),
        ('class="post-author"', True),
        ('class="entry-author"', True),
        ('class="posted-by"', True),
        ('class="meta-author"', True),
        ('class="story-author"', True),
        ('class="writer"', True),
        ('rel="author"', True),
        ('itemprop="author"', True),
        ('data-testid="article-byline"', True),
        ('class="author-bio"', False),
        ('class="authority lobby"', False),
        ('class="autorin"', False),
        ('class="nearby"', False),
    ],
)
def test_byline_elements(attributes: str, found: bool) -> None:
    tree = build_tree(f"<html><body><p>Text</p><span {attributes}>Jane Doe</span></body></html>")
    assert (page_bylines(tree) == ["Jane Doe"]) is found


@pytest.mark.parametrize(
    ("attributes", "hidden"),
    [
        ('class="tooltip"', True),
        ('class="c-popover is-open"', True),
        ('class="hovercard"', True),
        ('class="rollover-box"', True),
        ('hidden=""', True),
        ('aria-hidden="true"', True),
        ('style="display: none"', True),
        ('style="visibility:hidden"', True),
        ('class="cover overlay tools"', False),
        ('style="text-decoration:none"', False),
        ('aria-hidden="false"', False),
    ],
)
def test_prune_hidden(attributes: str, hidden: bool) -> None:
    tree = build_tree(f"<html><body><p>Kept <span {attributes}>gone</span> text</p></body></html>")
    prune_hidden(tree)
    assert tree.text_content() == ("Kept  text" if hidden else "Kept gone text")


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x0b", "\x0c", "\x1f", "\ufffe", "\uffff"])
@pytest.mark.parametrize("text", ["Café", "中文", "plain"])
def test_build_tree_drops_characters_lxml_refuses(bad: str, text: str) -> None:
    tree = build_tree(f"<html><body><p>{text}{bad}\tend\r\n</p></body></html>")
    assert tree.text_content() == f"{text}\tend\n"


def test_a_paragraph_written_straight_into_a_section_is_kept() -> None:
    intro = (
        "We bring you the best deals we have found today on games and hardware, updated every "
        'day of the year; <a href="/deals">see all deals</a> before the weekend rush starts.'
    )
    text = "This controller dropped in price again and is a fine buy for anyone. " * 3
    paragraphs = "".join(f"<h2>Deal {n}</h2><p>{text}</p>" for n in range(4))
    html = (
        "<html><head><title>Daily deals</title></head><body><article><h1>Daily deals</h1>"
        f'<section class="article-page">{intro}<p></p>{paragraphs}</section></article></body></html>'
    )
    body = parse_html(html).body
    assert "We bring you the best deals we have found today" in body
    assert "see all deals before the weekend rush starts." in body
    assert body.index("We bring you") < body.index("Deal 0")


def test_an_article_in_a_layout_table_keeps_its_paragraphs() -> None:
    paragraphs = "".join(
        f"<p>Paragraph {n}: the protest spread to more than a hundred cities across the country.</p>"
        for n in range(5)
    )
    html = (
        "<html><head><title>Protests spread</title></head><body><table><tr>"
        f'<td class="content"><h1>Protests spread</h1><div class="article_body">{paragraphs}</div></td>'
        '<td class="side"><a href="/x">Top stories</a></td></tr></table>'
        "<table><tr><th>City</th><th>Protests</th></tr><tr><td>North</td><td>12</td></tr></table>"
        "</body></html>"
    )
    tree = build_tree(html)
    unwrap_layout_tables(tree)
    assert len(tree.findall(".//table")) == 1  # the data table stays
    body = parse_html(html).body
    assert "Paragraph 0: the protest spread" in body
    assert body.index("Paragraph 1") > body.index("Paragraph 0") > -1
    assert "\n\n" in body[body.index("Paragraph 0") : body.index("Paragraph 1")]


def test_breadcrumbs_above_the_headline_are_not_body() -> None:
    text = "The police caught two burglars on Wednesday and returned the stolen jewellery."
    lines = [
        "- News",
        "- Local",
        "- Police Caught Two Burglars",
        "Police catch two burglars:",
        "- Copy link",
        text,
    ]
    tree = build_tree("<html><body><p>x</p></body></html>")
    links = frozenset({"news", "local", "copylink"})
    assert clean_lines(lines, tree, ["Police catch two burglars"], [], [], links) == [text]
    # Without the headline below them, short lines at the top stay unless they are links.
    assert clean_lines([*lines[1:3], text], tree, ["Elsewhere"], [], [], links) == [lines[2], text]


def test_the_pages_own_address_on_a_line_is_not_body() -> None:
    text = "The council met on Tuesday and agreed the budget for the coming year in full. " * 3
    url = "https://gazette.example/news/budget-agreed-123"
    html = (
        "<html><head><title>Budget agreed</title></head><body><article><h1>Budget agreed</h1>"
        f"<p>{text}</p><p>{text}</p><p>{url}</p><p>Source list: https://ons.example/budget</p>"
        "</article></body></html>"
    )
    body = parse_html(html, url).body
    assert url not in body
    assert body.endswith("Source list: https://ons.example/budget")


@pytest.mark.parametrize(
    ("inside", "outside", "kept"),
    [(4, 1, True), (3, 1, False), (1, 4, False), (0, 3, False)],
)
def test_an_aside_is_kept_as_the_page_wrapper_only_with_most_of_its_paragraphs(
    inside: int, outside: int, kept: bool
) -> None:
    paragraph = "<p>A paragraph of the page, of some forty characters.</p>"
    tree = build_tree(
        f"<html><body><aside class=wrap>{paragraph * inside}</aside>"
        f"<div>{paragraph * outside}</div><footer><p>Footer</p></footer></body></html>"
    )
    _keep_page_wrappers(tree)
    assert (tree.find(".//*[@class='wrap']").tag == "div") is kept
