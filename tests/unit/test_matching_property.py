"""The bulk matcher and the reference evaluator agree exactly on random queries and texts."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.matching.compiled import Matcher
from monitor.matching.evaluate import evaluate, term_spans
from monitor.matching.query import parse
from monitor.matching.text import Document
from monitor.matching.tree import terms

# A tiny vocabulary makes hits, overlaps, prefixes and repeats frequent.
WORDS = ["ab", "abc", "abd", "b", "ba", "x", "xy", "cafe"]
SPELLINGS = {"cafe": ["cafe", "Café", "CAFÉ", "cafe\u0301"], "ab": ["ab", "AB", "Ab"]}
ENTITIES = {"E": ["ab", "x xy", "abc*"], "F": ["b-ba"]}
FIELDS = ["", "", "", "", "title:", "body:", "author:", "url:", "source:"]

spelled = st.sampled_from(WORDS).flatmap(lambda word: st.sampled_from(SPELLINGS.get(word, [word])))
separator = st.sampled_from([" ", " ", " ", "-", "'", ", ", ". ", "\n"])


@st.composite
def texts(draw, max_words: int = 14) -> str:
    count = draw(st.integers(0, max_words))
    parts = []
    for _ in range(count):
        parts.extend((draw(spelled), draw(separator)))
    return "".join(parts)


def term_texts() -> st.SearchStrategy[str]:
    word = st.sampled_from(WORDS)
    prefix = st.sampled_from(["abc*", "ab*", "caf*", "ba-ab*"]).filter(lambda t: len(t.split("-")[-1]) > 3)
    phrase = st.lists(spelled, min_size=1, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"')
    sloppy = st.tuples(st.lists(word, min_size=2, max_size=3), st.integers(0, 3)).map(
        lambda p: '"' + " ".join(p[0]) + f'"~{p[1]}'
    )
    hyphen = st.tuples(word, word).map("-".join)
    entity = st.sampled_from(["@E", "@F"])
    return st.one_of(spelled, prefix, phrase, sloppy, hyphen, entity)


def positional() -> st.SearchStrategy[str]:
    base = st.tuples(st.sampled_from(FIELDS), term_texts()).map(lambda p: p[0] + p[1])
    return st.recursive(
        base,
        lambda inner: st.one_of(
            st.tuples(inner, inner).map(lambda p: f"({p[0]} OR {p[1]})"),
            st.tuples(inner, st.sampled_from(["NEAR", "ONEAR"]), st.integers(0, 4), inner).map(
                lambda p: f"({p[0]} {p[1]}/{p[2]} {p[3]})"
            ),
        ),
        max_leaves=4,
    )


def queries() -> st.SearchStrategy[str]:
    return st.recursive(
        positional(),
        lambda inner: st.one_of(
            st.tuples(inner, inner).map(lambda p: f"({p[0]} AND {p[1]})"),
            st.tuples(inner, inner).map(lambda p: f"({p[0]} {p[1]})"),
            st.tuples(inner, inner).map(lambda p: f"({p[0]} OR {p[1]})"),
            inner.map(lambda q: f"NOT {q}"),
            inner.map(lambda q: f"-({q})"),
        ),
        max_leaves=6,
    )


@st.composite
def documents(draw) -> Document:
    return Document.from_fields(
        title=draw(texts(6)),
        body=draw(texts()),
        authors=draw(st.lists(texts(3), max_size=2)),
        url=draw(st.sampled_from(["", "https://x.example/ab-cafe", "https://ab.example/b"])),
        source=draw(st.sampled_from(["", "x", "ab"])),
    )


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(queries(), min_size=1, max_size=6), st.lists(documents(), min_size=1, max_size=3))
def test_bulk_matcher_agrees_with_reference(query_texts, docs):
    nodes = [parse(text, ENTITIES) for text in query_texts]
    matcher = Matcher(nodes)
    for doc in docs:
        expected = [index for index, node in enumerate(nodes) if evaluate(node, doc)]
        result = matcher.match(doc)
        assert result.indexes == expected, (query_texts, doc)
        for index in expected:
            reference = {term: sorted(term_spans(term, doc)) for term in terms(nodes[index])}
            assert result.found(index) == reference


@settings(max_examples=300, deadline=None, database=None)
@given(positional(), texts(8))
def test_proximity_agrees_with_reference(query_text, body):
    """Proximity on short, dense bodies, where off-by-one distances show up."""
    node = parse(query_text, ENTITIES)
    doc = Document.from_fields(title="ab b", body=body)
    assert Matcher([node]).match(doc).indexes == ([0] if evaluate(node, doc) else [])
