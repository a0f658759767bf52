"""The bulk matcher is linear in the text: a page made of nothing but rule terms cannot stall it.

A 5 MB body of the seed rule's terms took 74 s when every hit's word position was found
by counting the spaces before it; a body with the two sides of a ``NEAR`` in two far
apart blocks compared every pair of them. The timeout is the guard (no timing asserts);
the smaller inputs check that the fast paths still mean what the reference evaluator means.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.article import Article
from monitor.matching.compiled import Matcher
from monitor.matching.evaluate import evaluate, term_spans
from monitor.matching.query import parse
from monitor.matching.text import Document
from monitor.matching.tree import terms
from monitor.watch.rules import load_rules

ROOT = Path(__file__).resolve().parents[2]
SEED_RULES = ROOT / "rules" / "daimler-renault.yaml"
TERMS = (
    "Daimler and Renault announced an alliance. Mercedes-Benz, Nissan and Carlos Ghosn "
    "teamed up in a joint venture; Groupe Renault partners cooperate with Daimler AG. "
)
ENTITIES = {
    "Daimler": ["Daimler", "Daimler AG", "Mercedes-Benz"],
    "Renault": ["Renault", "Groupe Renault", "Nissan", "Carlos Ghosn"],
}
QUERIES = [
    '@Daimler NEAR/20 @Renault AND (alliance* OR partner* OR "joint venture")',
    "@Renault ONEAR/3 @Daimler",
    "(@Daimler NEAR/2 @Renault) NEAR/5 venture",
    "(Renault ONEAR/0 alliance) ONEAR/4 (Daimler NEAR/1 cooperation)",
    '"Daimler Renault"~3 -"Formula One"',
    "partner* NEAR/0 cooperat*",
]


def terms_text(size: int) -> str:
    """About ``size`` characters of nothing but rule terms."""
    return TERMS * (size // len(TERMS) + 1)


def far_apart(size: int) -> str:
    """Each side of the seed rule's ``NEAR`` in a block of its own, 40 words apart."""
    half = size // 2
    renault = "Renault alliance partner. " * (half // 26)
    daimler = "Daimler cooperation venture. " * (half // 29)
    return renault + "filler " * 40 + daimler


def article(body: str) -> Article:
    return Article(url="https://news.example/a", canonical_url="https://news.example/a", title="", body=body)


@pytest.mark.timeout(20)
def test_five_megabytes_of_rule_terms_match_in_bounded_time() -> None:
    rules, errors = load_rules([SEED_RULES])
    assert errors == []
    body = terms_text(5_000_000)
    (match,) = rules.match(article(body))
    assert match.rule.name == "daimler-renault-alliance"
    assert match.mentions > 300_000  # every alias of both entities counted, all the way down
    assert "**" in match.snippet


@pytest.mark.timeout(20)
def test_far_apart_proximity_sides_are_not_compared_pair_by_pair() -> None:
    rules, errors = load_rules([SEED_RULES])
    assert errors == []
    assert rules.match(article(far_apart(5_000_000))) == []


@pytest.mark.parametrize(
    "body", [terms_text(20_000), far_apart(20_000), terms_text(3_000) + far_apart(3_000)]
)
def test_long_texts_give_the_reference_evaluators_result(body: str) -> None:
    nodes = [parse(query, ENTITIES) for query in QUERIES]
    doc = Document.from_fields(title="Renault and Daimler teamed up", body=body)
    result = Matcher(nodes).match(doc)
    expected = [index for index, node in enumerate(nodes) if evaluate(node, doc)]
    assert result.indexes == expected
    assert expected  # the inputs exercise matches, not only misses
    for index in expected:
        reference = {term: sorted(term_spans(term, doc)) for term in terms(nodes[index])}
        assert result.found(index) == reference
