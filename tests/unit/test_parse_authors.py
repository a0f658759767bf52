"""Authors: people first, then the agency or publisher the metadata names; no credits, roles or handles."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from monitor.parse import parse_html
from monitor.parse.authors import choose_authors, clean_authors, organisations, page_bylines, ranked_bylines

SITES = ["Daily Planet", "dailyplanet.example"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["Elena Oberholzer (obe)", "Oliver Maksan (oma"], ("Elena Oberholzer", "Oliver Maksan")),
        (["Mathias Hagen / Journalist", "Anders Skjerdingstad / Journalist i Paris"],
         ("Mathias Hagen", "Anders Skjerdingstad")),
        (["Sauli Giliard", "Sauli.giliard"], ("Sauli Giliard",)),
        (["Xiaoying You", "Rachel Brazil", "You, Xiaoying", "Brazil, Rachel"],
         ("Xiaoying You", "Rachel Brazil")),
        (["Emma Mackenzie", "(Image: Getty Images/iStockphoto)", "Image: Getty Images"], ("Emma Mackenzie",)),
        (["NZZ-Redaktion", "Jane Doe"], ("Jane Doe",)),
        (["Jeff Foust\nMonday, November 18, 2019"], ("Jeff Foust",)),
        (["Capital Von Jemima Kelly"], ("Jemima Kelly",)),
        (["Daily Planet", "Lois Lane"], ("Lois Lane",)),
    ],
)  # fmt: skip
def test_clean_authors_keeps_only_names(raw, expected):
    assert clean_authors(raw, SITES) == expected


@pytest.mark.parametrize(
    ("structured", "bylines", "expected"),
    [
        (["Lois Lane", "dpa"], [], ("Lois Lane", "dpa")),  # an agency beside a person stays
        (["dpa", "Daily Planet"], ["dpa"], ("dpa",)),  # agency copy: the agency, not the site
        (["Daily Planet"], ["von APA"], ("Daily Planet",)),  # the metadata's organisation first
        (["dailyplanet.example"], [], ("dailyplanet.example",)),
        (["Daily Planet"], ["By Clark Kent"], ("Clark Kent",)),  # a person wins over the publisher
        (["@dailyplanet", "https://facebook.com/dailyplanet"], [], ()),
    ],
)
def test_choose_authors_prefers_people_then_agencies_then_the_publisher(structured, bylines, expected):
    assert choose_authors(structured, lambda: bylines, SITES) == expected


def test_organisations_are_kept_as_written():
    assert organisations(["FOCUS online"], ["FOCUS online"]) == ("FOCUS online",)
    assert organisations(["Deutsche Presse-Agentur", "Daily Planet"], SITES) == ("Deutsche Presse-Agentur",)


def test_the_article_byline_wins_over_teaser_bylines():
    tree = lxml_html.document_fromstring(
        "<html><body><article><h1>Heated airers</h1>"
        '<p class="e-byline"><a rel="author" href="/a/mh">By Madeleine Howell</a></p><p>Text.</p></article>'
        '<section class="related"><div class="teaser"><p class="e-byline">'
        '<a rel="author">By Rebecca Astill</a></p></div></section></body></html>'
    )
    assert ranked_bylines(tree) == ["By Madeleine Howell"]
    assert choose_authors([], lambda: page_bylines(tree), SITES, [lambda: ranked_bylines(tree)]) == (
        "Madeleine Howell",
    )


def test_ranked_bylines_skip_comments_and_figures():
    tree = lxml_html.document_fromstring(
        '<html><body><figure><span class="author">Photo Agency</span></figure>'
        '<div id="comments"><span class="author">Commenter</span></div>'
        '<div class="meta"><span class="author-name">Lois Lane</span></div></body></html>'
    )
    assert ranked_bylines(tree) == ["Lois Lane"]


def test_a_glued_byline_is_read_as_separate_words():
    page = (
        "<html><head><title>Houseplants</title></head><body><article><h1>Houseplants</h1>"
        '<div class="byline">By<div class="author"><a href="/authors/emma">Emma Mackenzie</a>'
        '<span class="job-title">Lifestyle Writer</span></div><span>14:00, 28 Apr 2024</span></div>'
        "<p>" + "Gorgeous houseplants can thrive in a dim room. " * 8 + "</p></article></body></html>"
    )
    assert parse_html(page, "https://dailyplanet.example/plants").authors == ("Emma Mackenzie",)
