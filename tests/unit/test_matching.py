"""What a query matches in a text: words, phrases, booleans, wildcards, proximity, fields."""

from __future__ import annotations

import pytest

from monitor.matching.compiled import Matcher
from monitor.matching.evaluate import evaluate, mentions
from monitor.matching.query import parse
from monitor.matching.text import Document, normalise_word, words

ENTITIES = {
    "Daimler": ["Daimler", "Daimler AG", "Mercedes-Benz Group", "Daimler-Benz"],
    "Renault": ["Renault", "Groupe Renault", "Nissan"],
}


def doc(body: str, title: str = "", **fields: str) -> Document:
    return Document.from_fields(title=title, body=body, **fields)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Renault", ["renault"]),
        ("Citroën C3", ["citroen", "c3"]),
        ("MÉGANE", ["megane"]),
        ("Stra\u00dfe", ["strasse"]),
        ("Cafe\u0301 racer", ["cafe", "racer"]),  # decomposed accent stays inside its word
        ("Mercedes-Benz's", ["mercedes", "benz", "s"]),
        ("Land Rover\u2019s", ["land", "rover", "s"]),
        ("F1, 2010; U.S.", ["f1", "2010", "u", "s"]),
        ("snake_case", ["snake", "case"]),
        ("", []),
    ],
)
def test_words(text, expected):
    assert words(text) == expected


def test_normalise_word_is_what_words_does():
    for token in ["Škoda", "ŠKODA", "Ärger", "ﬁat", "İstanbul"]:
        assert words(token) == [normalise_word(token)]


CASES = [
    # (query, body, matches)
    ("renault", "Renault said", True),
    ("Renault", "RENAULT said", True),
    ("citroen", "Citroën said", True),
    ("Citroën", "CITROEN said", True),
    ("renault", "Renaults sold", False),  # whole words only
    ("renault", "Renault's plan", True),
    ("renault", "the Renault-Nissan alliance", True),
    ("Renault-Nissan", "the Renault-Nissan alliance", True),
    ("Renault-Nissan", "Renault Nissan alliance", True),
    ("Renault-Nissan", "Renault and Nissan", False),
    ("Mercedes-Benz", "a Mercedes-Benz car", True),
    ("Mercedes-Benz", "Mercedes GP and a Benz", False),
    ('"Land Rover\'s"', "Land Rover's new Defender", True),
    ('"Land Rover"', "Land Rover's new Defender", True),
    ('"small car"', "a small-car alliance", True),
    ('"small car"', "a car that is small", False),
    ("Daimler Renault", "Daimler and Renault", True),
    ("Daimler Renault", "Daimler and Nissan", False),
    ("Daimler AND Renault", "Renault then Daimler", True),
    ("Daimler OR Renault", "only Renault", True),
    ("Daimler OR Renault", "only Nissan", False),
    ("Daimler -formula", "Daimler results", True),
    ("Daimler -formula", "Daimler in Formula 1", False),
    ("Daimler NOT (formula OR f1)", "Daimler F1 team", False),
    ("Daimler NOT (formula OR f1)", "Daimler trucks", True),
    ("(Daimler OR Mercedes) AND (Renault OR Nissan)", "Mercedes and Nissan", True),
    ("(Daimler OR Mercedes) AND (Renault OR Nissan)", "Mercedes and Toyota", False),
    ("partner*", "a partnership", True),
    ("partner*", "partners", True),
    ("partner*", "partner", True),
    ("partner*", "a counterpartner", False),
    ("Renault-Nis*", "Renault-Nissan", True),
    ("Renault-Nis*", "Renault Dacia", False),
    ("Daimler NEAR/3 Renault", "Daimler and French Renault", True),
    ("Daimler NEAR/3 Renault", "Renault and German carmaker Daimler", True),
    ("Daimler NEAR/1 Renault", "Daimler and French Renault", False),
    ("Daimler NEAR/0 Renault", "Daimler Renault", True),
    ("Daimler ONEAR/3 Renault", "Renault and Daimler", False),
    ("Daimler ONEAR/3 Renault", "Daimler and Renault", True),
    ('"Daimler AG" NEAR/2 Renault', "Daimler AG and Renault", True),
    ("renault NEAR/5 renault", "Renault said", False),  # needs two places
    ("renault NEAR/5 renault", "Renault said Renault", True),
    ('"Daimler Renault"~2', "Renault joins Daimler", True),
    ('"Daimler Renault"~2', "Renault joins carmaker group Daimler", False),
    ('"a b c"~1', "a x b c", True),
    ("(Daimler OR Mercedes) NEAR/2 (Renault OR Nissan)", "Mercedes with Nissan", True),
    ("(a NEAR/1 b) NEAR/1 c", "a b x c", True),
    ('"a b" ONEAR/1 b', "a b", False),  # ONEAR: the left side must end before the right starts
    ('"a b" NEAR/1 b', "a b", True),  # NEAR: overlapping but different places are near
    ('"a b" NEAR/1 "a b"', "a b", False),  # the same place twice is not two places
    ("(a NEAR/1 b) NEAR/1 c", "a b x x c", False),
    ("@Daimler AND @Renault", "Daimler-Benz meets Nissan", True),
    ("@Daimler AND @Renault", "Daimler meets Toyota", False),
    ("@Daimler NEAR/3 @Renault", "Mercedes-Benz Group and Groupe Renault", True),
]


def compiled(node, document) -> bool:
    """The bulk matcher's answer for a single query."""
    return Matcher([node]).match(document).indexes == [0]


ENGINES = [pytest.param(evaluate, id="reference"), pytest.param(compiled, id="compiled")]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("query", "body", "expected"), CASES)
def test_matches(engine, query, body, expected):
    assert engine(parse(query, ENTITIES), doc(body)) is expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Renault", True),  # default fields are title and body
        ("title:Renault", True),
        ("title:Daimler", False),
        ("body:Daimler", True),
        ("author:Wood", True),
        ('author:"Colum Wood"', True),
        ('author:"Wood Jane"', False),  # a phrase never runs from one author into the next
        ("Wood", False),
        ("url:autoguide", True),
        ("url:renault-team-up", True),
        ("source:autoguide", True),
        ("title:Renault NEAR/5 body:Daimler", False),  # different fields are never near
        ('"Alliance Daimler"', False),  # nor is a phrase across title and body
    ],
)
@pytest.mark.parametrize("engine", ENGINES)
def test_fields(engine, query, expected):
    document = Document.from_fields(
        title="Renault Team Up Alliance",
        body="Daimler said",
        authors=["Colum Wood", "Jane Doe"],
        url="https://www.autoguide.com/auto-news/renault-team-up.html",
        source="autoguide",
    )
    assert engine(parse(query), document) is expected


@pytest.mark.parametrize(
    ("query", "body", "count"),
    [
        ("Renault", "Renault, Renault and renault", 3),
        ("Renault OR Nissan", "Renault and Nissan", 2),
        ("Renault -Nissan", "Renault and Nissan", 1),  # excluded terms do not count
        ("renault renault*", "Renault and Renaults", 2),  # one place counts once per span
        ('"Renault Nissan" Renault', "Renault Nissan", 2),
    ],
)
def test_mentions(query, body, count):
    assert mentions(parse(query), doc(body)) == count
