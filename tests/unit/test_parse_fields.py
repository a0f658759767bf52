"""Field by field: authors, dates, structured data, titles, language, canonical, selectors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from monitor.parse import parse_html
from monitor.parse.authors import clean_authors
from monitor.parse.dates import parse_date, url_date
from monitor.parse.fields import choose_language, strip_site
from monitor.parse.structured import load_json_ld

BODY = (
    "<p>"
    + "Daimler and Renault said on Tuesday they would share small-car platforms and engines. " * 4
    + "</p>"
)


def html(head: str = "", body: str = "", lang: str = "en") -> str:
    return f'<html lang="{lang}"><head>{head}</head><body><article>{body}{BODY * 3}</article></body></html>'


def ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["By Colum Wood"], ("Colum Wood",)),
        (["BY JANE DOE AND JOHN ROE"], ("Jane Doe", "John Roe")),
        (["Jane Doe, John Roe & Max Mustermann"], ("Jane Doe", "John Roe", "Max Mustermann")),
        (["Sarah E. Needleman"], ("Sarah E. Needleman",)),
        (["Von Max Müller und Erika Mustermann"], ("Max Müller", "Erika Mustermann")),
        (["Par Jean Dupont et Marie Curie"], ("Jean Dupont", "Marie Curie")),
        (["di Mario Rossi"], ("Mario Rossi",)),
        (["Por Juan Pérez y Ana García"], ("Juan Pérez", "Ana García")),
        (["Jane Doe, Senior Correspondent"], ("Jane Doe",)),
        (["Jane Doe", "jane doe", "Jane  Doe"], ("Jane Doe",)),
        (["https://www.example.com/author/jane", "@janedoe", "Staff Writer"], ()),
        (["Colum Wood is an award-winning journalist who has written about cars for twenty years."], ()),
        (["AutoGuide.com"], ()),
    ],
)
def test_clean_authors(raw, expected):
    assert clean_authors(raw, ["AutoGuide.com"]) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2010-04-06T09:30:00-04:00", datetime(2010, 4, 6, 13, 30, tzinfo=UTC)),
        ("2010-04-06T13:30:00Z", datetime(2010, 4, 6, 13, 30, tzinfo=UTC)),
        ("2010-04-06T13:30:00.123+0000", datetime(2010, 4, 6, 13, 30, 0, 123000, tzinfo=UTC)),
        ("2010-04-06 13:30:00", datetime(2010, 4, 6, 13, 30, tzinfo=UTC)),
        ("2010-04-06", datetime(2010, 4, 6, tzinfo=UTC)),
        ("Tue, 06 Apr 2010 13:30:00 GMT", datetime(2010, 4, 6, 13, 30, tzinfo=UTC)),
        ("April 6, 2010 9:30 AM EDT", datetime(2010, 4, 6, 13, 30, tzinfo=UTC)),
        ("1270560600", datetime(2010, 4, 6, 13, 30, tzinfo=UTC)),
        ("not a date", None),
        ("1900-01-01", None),
        ("2999-01-01", None),
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text) == expected


def test_url_date():
    assert url_date("https://x.com/2019/11/18/story/") == datetime(2019, 11, 18, tzinfo=UTC)
    assert url_date("https://x.com/news/20191118-story") == datetime(2019, 11, 18, tzinfo=UTC)
    assert url_date("https://x.com/2019/13/45/story") is None
    assert url_date("https://x.com/story?id=20191118") is None


def test_json_ld_graph_with_references():
    data = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "Person", "@id": "#p1", "name": "Jane Doe"},
            {"@type": "Organization", "@id": "#org", "name": "Motor Wire"},
            {
                "@type": ["ReportageNewsArticle"],
                "headline": "Alliance formed",
                "author": [{"@id": "#p1"}, {"@type": "Person", "name": "John Roe"}],
                "publisher": {"@id": "#org"},
                "datePublished": "2019-11-19T08:00:00+01:00",
                "dateModified": "2019-11-19T09:00:00+01:00",
                "articleSection": ["Industry", "Europe"],
                "inLanguage": "de-DE",
                "description": "Two carmakers team up.",
            },
        ],
    }
    article = parse_html(
        html(ld(data) + "<title>Alliance formed | Motor Wire</title>"), "https://mw.example/a"
    )
    assert article.title == "Alliance formed"
    assert article.authors == ("Jane Doe", "John Roe")
    assert article.published_at == datetime(2019, 11, 19, 7, tzinfo=UTC)
    assert article.modified_at == datetime(2019, 11, 19, 8, tzinfo=UTC)
    assert article.section == "Industry"
    # inLanguage "de" is read, but the English text outweighs it (a confident detection wins).
    assert article.language == "en"
    assert article.site_name == "Motor Wire"
    assert article.description == "Two carmakers team up."
    assert article.extra["schema_type"] == "ReportageNewsArticle"


def test_json_ld_with_publisher_mistakes():
    text = '<!-- {"@type": "NewsArticle", "headline": "A\tB", "author": "X Y",} -->'
    assert load_json_ld(text) == {"@type": "NewsArticle", "headline": "A\tB", "author": "X Y"}
    assert load_json_ld("{not json") is None


def test_opengraph_and_meta_only():
    head = (
        '<meta property="og:title" content="Fiat and Chrysler finalise merger">'
        '<meta property="og:url" content="https://news.example/fca?utm_source=rss&amp;id=7">'
        '<meta property="article:published_time" content="2019-12-18T06:00:00Z">'
        '<meta name="author" content="By Ann Other">'
        '<meta property="og:locale" content="it_IT">'
        '<meta property="article:section" content="Business">'
        "<title>Fiat and Chrysler finalise merger - News Example</title>"
    )
    article = parse_html(html(head, "<h1>Fiat and Chrysler finalise merger</h1>", lang=""))
    assert article.url == "https://news.example/fca?utm_source=rss&id=7"
    assert article.canonical_url == "https://news.example/fca?id=7"
    assert article.title == "Fiat and Chrysler finalise merger"
    assert article.authors == ("Ann Other",)
    assert article.published_at == datetime(2019, 12, 18, 6, tzinfo=UTC)
    # og:locale "it" is read, but the English text outweighs it (a confident detection wins).
    assert article.language == "en"
    assert article.section == "Business"


def test_visible_page_only():
    body = (
        '<h1>PSA weighs bid for Opel</h1><p class="byline">By <a rel="author" href="/a/jd">Jane Doe</a></p>'
        '<time datetime="2017-02-14T10:00:00+01:00">14 Feb 2017</time>'
    )
    article = parse_html(
        html("<title>PSA weighs bid for Opel | Autos Daily</title>", body), "https://ad.example/x"
    )
    assert article.title == "PSA weighs bid for Opel"
    assert article.authors == ("Jane Doe",)
    assert article.published_at == datetime(2017, 2, 14, 9, tzinfo=UTC)
    assert "Daimler and Renault said on Tuesday" in article.body
    assert "PSA weighs bid for Opel" not in article.body


def test_date_from_url_when_page_has_none():
    article = parse_html(html("<title>Plain page</title>"), "https://blog.example/2016/05/04/plain-page/")
    assert article.published_at == datetime(2016, 5, 4, tzinfo=UTC)


def test_title_prefers_the_on_page_headline_over_seo_title():
    head = ld({"@type": "NewsArticle", "headline": "Renault, Nissan shares fall after Ghosn arrest | Cars"})
    article = parse_html(html(head, "<h1>Renault, Nissan shares fall after Ghosn arrest</h1>"))
    assert article.title == "Renault, Nissan shares fall after Ghosn arrest"


def test_title_from_title_tag_without_site_name():
    article = parse_html(
        html("<title>Toyota recalls 1m cars | Motor Wire</title>", ""), "https://motorwire.example/"
    )
    assert article.title == "Toyota recalls 1m cars"


@pytest.mark.parametrize(
    ("title", "sites", "expected"),
    [
        ("Toyota recalls 1m cars | Motor Wire", ["Motor Wire"], "Toyota recalls 1m cars"),
        ("AutoGuide.com - Toyota recalls 1m cars", ["autoguide.com"], "Toyota recalls 1m cars"),
        (
            "Toyota recalls 1m cars in the US and in Canada - Daily Wire",
            [],
            "Toyota recalls 1m cars in the US and in Canada",
        ),
        (
            "Daimler - Renault deal: what it means for Smart",
            [],
            "Daimler - Renault deal: what it means for Smart",
        ),
    ],
)
def test_strip_site(title, sites, expected):
    assert strip_site(title, sites) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [(["en-US"], "en"), (["de_DE"], "de"), (["", "fr"], "fr"), (["eng"], "en"),
     (["x-default", "pt-BR"], "pt"), (["english"], None), ([], None), (["kr"], "ko")],
)  # fmt: skip
def test_choose_language(values, expected):
    assert choose_language(values) == expected


def test_selectors_override_everything():
    body = (
        '<h1 class="hl">Headline</h1><div class="who">Ann Smith and Bob Jones</div>'
        '<span class="when">2020-01-02T03:04:05Z</span>'
        '<div class="txt"><p>Only this.</p><p>And this.</p></div>'
    )
    article = parse_html(
        html("<title>Other</title>", body),
        "https://x.example/a",
        selectors={"title": "h1.hl", "body": "div.txt", "authors": ".who", "published_at": ".when"},
    )
    assert article.title == "Headline"
    assert article.body == "Only this.\n\nAnd this."
    assert article.authors == ("Ann Smith", "Bob Jones")
    assert article.published_at == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_missing_selector_falls_back_and_bad_selector_is_reported():
    from monitor.errors import ParseError

    article = parse_html(html("<title>T</title>"), selectors={"body": "div.nothing-here"})
    assert "Daimler and Renault" in article.body
    with pytest.raises(ParseError, match="bad CSS selector"):
        parse_html(html("<title>T</title>"), selectors={"title": "h1[["})


def test_source_is_passed_through_and_url_may_be_missing():
    article = parse_html(html("<title>T</title>"), source="motor-wire")
    assert article.source == "motor-wire"
    assert article.url == ""
    assert article.canonical_url == ""
