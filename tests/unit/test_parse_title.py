"""Titles: the visible headline, in the publisher's declared wording when both say the same."""

from __future__ import annotations

import json

import pytest
from lxml import html as lxml_html

from monitor.parse import parse_html
from monitor.parse.fields import choose_title, strip_site

BODY = "<p>" + "The council met on Tuesday and agreed the budget for the coming year in full. " * 6 + "</p>"


def page(head: str, h1: str) -> str:
    return f"<html><head>{head}</head><body><article><h1>{h1}</h1>{BODY}</article></body></html>"


def meta(prop: str, value: str) -> str:
    return f'<meta property="{prop}" content="{value}">'


def ld(headline: str) -> str:
    return (
        '<script type="application/ld+json">'
        + json.dumps({"@type": "NewsArticle", "headline": headline})
        + "</script>"
    )


def test_a_section_label_before_the_headline_is_dropped():
    head = (
        meta("og:title", "Was lesen die Philippinen?")
        + "<title>Was lesen die Philippinen? — der Freitag</title>"
    )
    assert parse_html(page(head, "Kultur : Was lesen die Philippinen?")).title == "Was lesen die Philippinen?"


def test_a_kicker_span_glued_to_the_headline_is_dropped():
    head = meta("og:title", "Liverpool verliert bei Everton")
    h1 = '<span class="kicker">Premier League</span> Liverpool verliert bei Everton'
    assert parse_html(page(head, h1)).title == "Liverpool verliert bei Everton"


def test_spans_of_a_headline_are_not_glued():
    h1 = "<span>पुलिस ने 2 बदमाशों को पकड़ा:</span>दो दिनों के अंदर खुलासा"
    assert parse_html(page("", h1)).title == "पुलिस ने 2 बदमाशों को पकड़ा: दो दिनों के अंदर खुलासा"


def test_the_declared_wording_most_titles_share_wins_over_the_h1_quotes():
    head = (
        ld("Strava unveils &#8216;family&#8217; plan")
        + meta("og:title", "Strava unveils 'family' plan | TechCrunch")
        + "<title>Strava unveils 'family' plan | TechCrunch</title>"
    )
    article = parse_html(page(head, "Strava unveils ‘family’ plan"), "https://techcrunch.example/strava")
    assert article.title == "Strava unveils 'family' plan"


def test_a_social_og_title_loses_to_the_visible_headline():
    head = (
        meta("og:title", "You won't believe what the council did")
        + "<title>Council agrees budget | Gazette</title>"
    )
    assert parse_html(page(head, "Council agrees budget")).title == "Council agrees budget"


def test_a_tail_that_belongs_to_the_headline_stays():
    head = meta("og:title", "Fire in Lichterfelde – „Extreme danger“")
    assert (
        parse_html(page(head, "Fire in Lichterfelde – „Extreme danger“")).title
        == "Fire in Lichterfelde – „Extreme danger“"
    )


@pytest.mark.parametrize(
    ("title", "sites", "expected"),
    [
        ("中拉深化航天合作指明方向--时政--人民网", ["人民网"], "中拉深化航天合作指明方向"),
        ("폭염 경보 발령ㅣ한국일보", ["한국일보"], "폭염 경보 발령"),
        ("Council agrees budget | Gazette", ["Gazette"], "Council agrees budget"),
    ],
)
def test_site_suffixes_in_any_script(title, sites, expected):
    assert strip_site(title, sites) == expected


def test_the_wording_most_declared_titles_share_outvotes_an_h1_variant():
    head = (
        ld("Council agrees a budget")
        + meta("og:title", "Council agrees a budget")
        + "<title>Council agrees a budget | Gazette</title>"
    )
    article = parse_html(page(head, "Council agrees a tight budget"), "https://gazette.example/a")
    assert article.title == "Council agrees a budget"


def test_a_tie_goes_to_the_json_ld_headline_when_it_edits_the_h1():
    head = (
        ld("Council agrees budget")
        + meta("og:title", "Council agrees budget after a long night")
        + "<title>Council agrees budget | Gazette</title>"
    )
    article = parse_html(page(head, "Council agrees budget after a long night"), "https://gazette.example/a")
    assert article.title == "Council agrees budget"


def test_a_tie_stays_with_the_h1_when_the_json_ld_headline_is_another_headline():
    head = (
        ld("Mayor hails new era for the town")
        + meta("og:title", "Council agrees budget")
        + "<title>Mayor hails new era for the town | Gazette</title>"
    )
    assert (
        parse_html(page(head, "Council agrees budget"), "https://gazette.example/a").title
        == "Council agrees budget"
    )


def test_a_twitter_title_copying_the_og_title_is_one_vote():
    head = (
        meta("og:title", "Council agrees the budget")
        + '<meta name="twitter:title" content="Council agrees the budget">'
        + "<title>Council agrees budget | Gazette</title>"
    )
    assert (
        parse_html(page(head, "Council agrees budget"), "https://gazette.example/a").title
        == "Council agrees budget"
    )


def test_a_site_name_holding_the_headline_strips_nothing():
    headline = "Schools and AI - Pupils learn faster"
    tree = lxml_html.fromstring(page(f"<title>{headline}</title>", headline))
    assert choose_title([headline], tree, [headline, "gazette.example"]) == headline
