"""Archive search: the full-text pre-filter never loses a hit the matcher finds, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from webdesk import BATTERY, OTHER, WIRE, ingest, make_article, ruleset, write_config

from monitor.cli import main
from monitor.matching.query import parse
from monitor.store.database import Database
from monitor.store.fulltext import AllOf, AnyOf, Words, fts5_query, tsquery
from monitor.store.models import ArticleRow
from monitor.watch.rules import Rule, RuleSet
from monitor.watch.search import SearchError, prefilter, search

EXTRA = [
    (
        "citroen",
        "Citroën unveils the C-Zero",
        "La Citroën C-Zéro est une voiture électrique, built with Mitsubishi.",
    ),
    (
        "strasse",
        "Straße und Schiene",
        "Die Straße gehört den Autos; Mercedes-Benz baut ein Werk in Kecskemét.",
    ),
    (
        "mixed",
        "A_b underscores and e-mail",
        "Contact press@renault.example or visit renault.example/news for the 2.0 dCi.",
    ),
]
QUERIES = [
    "Daimler",
    "daimler AND renault",
    "Daimler NEAR/5 Renault",
    "electric OR battery",
    "electri*",
    '"team up" OR "small-car platforms"',
    "Renault AND NOT Daimler",
    "registrations -France",
    "citroen",
    "C-Zero OR zero",
    "Strasse",
    "kecskemet",
    "title:Citroën",
    "source:wire AND Renault",
    "renault AND example",
    "dCi AND 2",
    "Mercedes-Benz",
    "press",
]


@pytest.fixture
def archive(database: Database, tmp_path: Path) -> Database:
    config = write_config(tmp_path, database.url)
    rules = ruleset(config)
    bodies = [
        ("wire", "Daimler, Renault Team Up", WIRE),
        ("battery", "Fluence", BATTERY),
        ("other", "Sales", OTHER),
    ]
    for slug, title, body in [*bodies, *EXTRA]:
        ingest(database, config, rules, make_article(slug, title, body))
    return database


@pytest.mark.parametrize("query", QUERIES)
def test_search_finds_exactly_what_the_matcher_finds(archive: Database, query: str) -> None:
    matcher = RuleSet([Rule("q", query)])
    with archive.transaction() as session:
        rows = session.query(ArticleRow).order_by(ArticleRow.id.desc()).all()
        expected = [row.id for row in rows if matcher.match(row.article())]
        result = search(session, query, limit=100)
    assert [hit.article.id for hit in result.hits] == expected
    assert result.more_before is None


def test_the_index_narrows_the_candidates(archive: Database) -> None:
    with archive.transaction() as session:
        result = search(session, "kecskemet")
    assert result.indexed
    assert result.scanned == 1
    assert [hit.article.title for hit in result.hits] == ["Straße und Schiene"]
    assert "**Kecskemét**" in result.hits[0].snippet


def test_pages_continue_below_the_last_hit(archive: Database) -> None:
    with archive.transaction() as session:
        first = search(session, "renault OR daimler OR electric", limit=2)
        assert len(first.hits) == 2
        assert first.more_before is not None
        rest = search(session, "renault OR daimler OR electric", limit=10, before=first.more_before)
        everything = search(session, "renault OR daimler OR electric", limit=10)
    assert [h.article.id for h in first.hits + rest.hits] == [h.article.id for h in everything.hits]


def test_a_bad_query_is_reported_with_its_column(archive: Database) -> None:
    with archive.transaction() as session, pytest.raises(SearchError) as caught:
        search(session, "Daimler AND")
    assert str(caught.value).startswith("query:1:")
    assert "^" in str(caught.value)


def test_prefilter_shapes() -> None:
    node = parse('Daimler AND (partner* OR "team up") AND NOT F1 AND author:smith')
    clause = prefilter(node)
    assert clause == AllOf((Words(("daimler",)), AnyOf((Words(("partner",), True), Words(("team", "up"))))))
    assert fts5_query(clause) == '("daimler" AND ("partner"* OR "team up"))'
    assert tsquery(clause) == "(('daimler') & (('partner':*) | ('team' <-> 'up')))"
    assert prefilter(parse("Daimler OR author:smith")) is None  # an Or with an unindexable side: anything
    assert prefilter(parse("Citroën")) == Words(("citroen",))  # folded as the index folds it
    assert prefilter(parse("Москва")) is None  # not ASCII: the folding rules may differ
    assert prefilter(parse("Strasse")) is None  # "ß" folds to "ss" for the matcher, not for FTS5


def test_monitor_search_prints_hits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    config = write_config(tmp_path, url)
    database = Database.open(url)
    try:
        ingest(database, config, ruleset(config), make_article("wire", "Daimler, Renault Team Up", WIRE))
    finally:
        database.close()
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(config.path), "search", "Zetsche NEAR/3 Ghosn"])
    assert result.exit_code == 0, result.output
    assert "Daimler, Renault Team Up  https://autoguide.example/wire" in result.output
    assert "**Ghosn**" in result.output
    assert result.output.splitlines()[-1].startswith("1 hit(s), 1 candidate(s) read in ")
    bad = runner.invoke(main, ["--config", str(config.path), "search", "(Daimler"])
    assert bad.exit_code == 1
    assert bad.output.startswith("Error: query:1:")
