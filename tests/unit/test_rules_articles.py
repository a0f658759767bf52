"""The shipped rule on the seed story and its near misses (tests/fixtures/rules/articles)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.article import Article
from monitor.watch.rules import RuleSet, explain, load_rules

ROOT = Path(__file__).parent.parent.parent
ARTICLES = ROOT / "tests" / "fixtures" / "rules" / "articles"
NEAR_MISSES = [
    "daimler-results",  # Daimler only: Mercedes-Benz, Smart, quarterly results
    "renault-only",
    "renault-f1",  # Renault F1 team, Mercedes GP as rival, Daimler stake, a sponsor partnership
    "nissan-micra",  # Renault-Nissan alliance, no Daimler
    "fiat-chrysler",  # an alliance and Daimler, no Renault
    "vw-suzuki",
    "europe-sales",  # Daimler and Renault in separate paragraphs, no alliance words
]


def article(name: str) -> Article:
    title, _, body = (ARTICLES / f"{name}.txt").read_text(encoding="utf-8").partition("\n")
    url = f"https://news.example/{name}"
    return Article(url=url, canonical_url=url, title=title.strip(), body=body.strip(), source="example")


@pytest.fixture(scope="module")
def shipped() -> RuleSet:
    ruleset, errors = load_rules([ROOT / "rules"])
    assert errors == []
    return ruleset


def test_seed_story_alerts(shipped):
    matches = shipped.match(article("seed-daimler-renault"))
    assert [match.rule.name for match in matches] == ["daimler-renault-alliance"]
    match = matches[0]
    assert match.rule.channels == ("alerts",)
    assert {"Daimler", "Renault", "alliance*"} <= set(match.terms)
    assert "**Daimler**" in match.snippet
    assert "**Renault" in match.snippet
    assert "daimler-renault-alliance" in explain(match)


@pytest.mark.parametrize("name", NEAR_MISSES)
def test_near_misses_stay_silent(shipped, name):
    assert shipped.match(article(name)) == []


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        ("Daimler and Renault in alliance talks", "", True),
        ("Mercedes-Benz maker teams up with Renault-Nissan", "A new partnership.", True),
        ("Daimler, Renault Team Up", "The Formula 1 season starts.", False),
        ("Renault F1 partnership", "Daimler's Mercedes GP team is a rival.", False),
        ("DAIMLER AND RENAULT ALLIANCE", "", True),
        ("Daimlerová and Renaultová alliance", "", False),  # whole words only
        ("Mercedes-Benz Group and Nissan plan a joint venture", "", True),  # entity aliases
        ("Dieter Zetsche meets Carlos Ghosn", "The two discussed cooperation on engines.", True),
        (
            "Alliance news",
            "Daimler reported results. "
            + "Analysts were busy with other things that week. " * 4
            + "Renault reported results too.",
            False,  # both named, but paragraphs apart: NEAR/20 does not hold
        ),
        ("Daimler and Renault in Grand Prix partnership", "", False),
    ],
)
def test_shipped_rule_on_short_texts(shipped, title, body, expected):
    url = "https://news.example/x"
    found = shipped.match(Article(url=url, canonical_url=url, title=title, body=body))
    assert bool(found) is expected


@pytest.mark.parametrize(
    ("rule_fields", "article_fields", "expected"),
    [
        ({"sources": ("autoguide",)}, {"source": "autoguide"}, True),
        ({"sources": ("autoguide",)}, {"source": "other"}, False),
        ({"sources": ("autoguide",)}, {}, False),
        ({"languages": ("en",)}, {"language": "en"}, True),
        ({"languages": ("en",)}, {"language": "de"}, False),
        ({"languages": ("en",)}, {}, True),  # unknown language passes: never miss a story
        ({"min_mentions": 3}, {}, True),  # Daimler twice, Renault once
        ({"min_mentions": 4}, {}, False),
    ],
)
def test_rule_filters(rule_fields, article_fields, expected):
    from monitor.watch.rules import Rule

    ruleset = RuleSet([Rule(name="r", query="Daimler Renault", **rule_fields)])
    url = "https://news.example/x"
    item = Article(
        url=url, canonical_url=url, title="Daimler news", body="Daimler and Renault.", **article_fields
    )
    assert bool(ruleset.match(item)) is expected
