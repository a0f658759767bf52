"""Explanations: which terms hit, where, and the highlighted snippet that goes into alerts."""

from __future__ import annotations

import pytest

from monitor.article import Article
from monitor.matching.evaluate import term_spans
from monitor.matching.explain import hits, snippet, terms_hit
from monitor.matching.query import parse
from monitor.matching.text import Document
from monitor.matching.tree import terms
from monitor.watch.rules import Rule, RuleMatch, RuleSet, explain


def found(query: str, document: Document):
    return {term: sorted(term_spans(term, document)) for term in terms(parse(query))}


@pytest.mark.parametrize(
    ("query", "body", "expected"),
    [
        ("Renault", "Renault said so.", "**Renault** said so."),
        ("renault", "Shares of RENAULT rose.", "Shares of **RENAULT** rose."),
        ("citroen", "La Citroën C3.", "La **Citroën** C3."),
        ('"small car"', "A small-car alliance.", "A **small-car** alliance."),
        # overlapping hits are bolded once, as one run
        ("Renault Renault-Nissan", "The Renault-Nissan boss.", "The **Renault-Nissan** boss."),
        ("Daimler -Fiat", "Daimler and Fiat.", "**Daimler** and Fiat."),  # excluded terms stay plain
        ("partner*", "New partners,\n  new   plans.", "New **partners**, new plans."),  # whitespace folded
    ],
)
def test_snippet_highlights(query, body, expected):
    document = Document.from_fields(body=body)
    assert snippet(found(query, document), document) == expected


def test_snippet_picks_the_passage_with_the_most_terms():
    filler = "Nothing to see here at all. " * 20
    body = f"Daimler alone. {filler}Daimler and Renault agree an alliance. {filler}Renault alone."
    document = Document.from_fields(body=body)
    text = snippet(found("Daimler Renault alliance", document), document)
    assert "**Daimler** and **Renault** agree an **alliance**" in text
    assert text.startswith("… ")
    assert text.endswith(" …")
    assert "alone" not in text


def test_snippet_is_clipped_without_an_open_bold():
    body = " ".join(["Renault"] * 200)
    document = Document.from_fields(body=body)
    text = snippet(found("Renault", document), document)
    assert len(text) <= 402
    assert text.count("**") % 2 == 0


def test_hits_and_terms():
    document = Document.from_fields(title="Daimler, Renault team up", body="Renault-Nissan boss Ghosn.")
    result = found('Renault Daimler "team up" Nissan', document)
    assert terms_hit(result) == ("Renault", "Daimler", "team up", "Nissan")
    assert [(hit.field, hit.start, hit.end, hit.text, hit.term) for hit in hits(result, document)] == [
        ("title", 0, 7, "Daimler", "Daimler"),
        ("title", 9, 16, "Renault", "Renault"),
        ("title", 17, 24, "team up", "team up"),
        ("body", 0, 7, "Renault", "Renault"),
        ("body", 8, 14, "Nissan", "Nissan"),
    ]


def test_rule_match_and_explain():
    ruleset = RuleSet(
        [Rule(name="alliance", query="@Daimler NEAR/5 Renault", path="rules/a.yaml", line=3)],
        entities={"Daimler": ["Daimler AG", "Mercedes-Benz"]},
    )
    url = "https://news.example/a"
    article = Article(url=url, canonical_url=url, title="News", body="Mercedes-Benz and Renault agree.")
    (match,) = ruleset.match(article)
    assert match.terms == ("Mercedes-Benz", "Renault")
    assert match.snippet == "**Mercedes-Benz** and **Renault** agree."
    assert match.mentions == 2
    assert [(hit.entity, hit.text) for hit in match.hits] == [("Daimler", "Mercedes-Benz"), ("", "Renault")]
    assert explain(match).splitlines() == [
        "alliance  (rules/a.yaml:3)",
        "  query:    @Daimler NEAR/5 Renault",
        "  mentions: 2 (min_mentions 1)",
        "  terms:    Mercedes-Benz, Renault",
        "  hits:",
        "    body[0:13]  @Daimler Mercedes-Benz  → 'Mercedes-Benz'",
        "    body[18:25]  Renault  → 'Renault'",
        "  snippet:  **Mercedes-Benz** and **Renault** agree.",
    ]


def test_identical_queries_each_get_their_match():
    rules = [Rule(name=f"r{i}", query="Renault", min_mentions=1 + i % 2) for i in range(4)]
    ruleset = RuleSet([*rules, Rule(name="other", query="Daimler")])
    url = "https://news.example/a"
    article = Article(url=url, canonical_url=url, title="Renault", body="Daimler and Renault")
    assert [match.rule.name for match in ruleset.match(article)] == ["r0", "r1", "r2", "r3", "other"]
    article = Article(url=url, canonical_url=url, title="Renault", body="Daimler")
    assert [match.rule.name for match in ruleset.match(article)] == ["r0", "r2", "other"]


def test_matches_equal_plainly_built_ones():
    rule = Rule(name="r", query="Renault")
    url = "https://news.example/a"
    (match,) = RuleSet([rule]).match(Article(url=url, canonical_url=url, title="Renault", body=""))
    assert match == RuleMatch(rule, ("Renault",), "**Renault**")
    assert hash(match) == hash(RuleMatch(rule, ("Renault",), "**Renault**"))
    assert match.mentions == 1
