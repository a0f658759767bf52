"""Loading rule files: every error in compiler form, and nothing half-loaded."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.article import Article
from monitor.watch.rules import Rule, RuleSet, load_rules, reload_rules

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rules"


def load(tmp_path, monkeypatch, *files: str):
    """Write ``files`` as rules/a.yaml, rules/b.yaml, ... and load the folder."""
    monkeypatch.chdir(tmp_path)
    folder = Path("rules")
    folder.mkdir()
    for name, text in zip("abcdef", files, strict=False):
        (folder / f"{name}.yaml").write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return load_rules([folder])


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        (
            """
            rules:
              - name: daimler-news
                query: Daimler
                chanels: [alerts]
            """,
            ["rules/a.yaml:4:5: unknown key 'chanels' in rule (did you mean 'channels'?)"],
        ),
        (
            """
            rule:
              - name: x
            """,
            ["rules/a.yaml:1:1: unknown key 'rule' in rules file (did you mean 'rules'?)"],
        ),
        (
            """
            rules:
              - name: Daimler News
                query: Daimler
            """,
            ["rules/a.yaml:2:11: rule name 'Daimler News' must be lowercase-kebab, like daimler-renault"],
        ),
        (
            """
            rules:
              - channels: [alerts]
            """,
            ["rules/a.yaml:2:5: rule needs 'name' and 'query'"],
        ),
        (
            """
            rules:
              - name: a
                query: ""
            """,
            ["rules/a.yaml:3:12: query must be a non-empty string"],
        ),
        (
            """
            rules:
              - name: a
                query: Daimler AND (Renault OR Nissan
            """,
            [
                "rules/a.yaml:3:24: unbalanced parenthesis: this '(' is never closed\n"
                "    Daimler AND (Renault OR Nissan\n"
                "                ^"
            ],
        ),
        (
            """
            rules:
              - name: a
                query: "Daimler AND"
            """,
            ["rules/a.yaml:3:24: AND at end of query\n    Daimler AND\n               ^"],
        ),
        (
            """
            rules:
              - name: a
                query: 'Daimler "small car'
            """,
            [
                "rules/a.yaml:3:21: unbalanced quote: this '\"' is never closed\n"
                '    Daimler "small car\n'
                "            ^"
            ],
        ),
        (
            """
            rules:
              - name: a
                query: >-
                  (Daimler OR Mercedes)
                  AND (Renault OR
            """,
            [
                "rules/a.yaml:5:22: OR at end of query\n"
                "    (Daimler OR Mercedes) AND (Renault OR\n"
                "                                         ^"
            ],
        ),
        (
            """
            rules:
              - name: a
                query: |
                  Daimler
                  AND renault NEAR Nissan
            """,
            [
                "rules/a.yaml:5:19: NEAR needs a number of words, as in NEAR/5\n"
                "    Daimler AND renault NEAR Nissan\n"
                "                        ^"
            ],
        ),
        (
            """
            rules:
              - name: a
                query: NOT formula
            """,
            [
                "rules/a.yaml:3:12: this query matches articles that contain none of its terms;"
                " add a term that must appear\n    NOT formula\n    ^"
            ],
        ),
        (
            """
            rules:
              - name: a
                query: Daimler
                channels: [Alerts, ok]
                sources: autoguide
                languages: [EN, english]
                mode: hourli
                min_mentions: 0
            """,
            [
                "rules/a.yaml:4:16: 'Alerts' is not a valid channel tag",
                "rules/a.yaml:6:17: 'EN' is not a valid language code (two lowercase letters, like en)",
                "rules/a.yaml:6:21: 'english' is not a valid language code (two lowercase letters, like en)",
                "rules/a.yaml:7:11: unknown mode 'hourli' (did you mean 'hourly'?);"
                " use instant, hourly, daily, weekly",
                "rules/a.yaml:8:19: min_mentions must be a whole number of at least 1, got 0",
            ],
        ),
        (
            """
            rules:
              name: a
            """,
            ["rules/a.yaml:2:3: rules must be a list of rules, each starting with '- name:'"],
        ),
        (
            """
            - name: a
            """,
            ["rules/a.yaml:1:1: a rules file must be a mapping with a 'rules:' list"],
        ),
        (
            """
            rules:
              - name: a
                query: Daimler
              - name: a
                query: Renault
            """,
            ["rules/a.yaml:4:11: rule name 'a' is already used at rules/a.yaml:2"],
        ),
        (
            """
            rules:
              - name: a
                query: Daimler
                name: b
            """,
            ["rules/a.yaml:4:5: duplicate key 'name'"],
        ),
    ],
)
def test_errors(tmp_path, monkeypatch, text, errors):
    ruleset, found = load(tmp_path, monkeypatch, text)
    assert [str(error) for error in found] == errors
    assert ruleset.rules == ()


def test_a_broken_file_never_takes_down_the_others(tmp_path, monkeypatch):
    good = """
        rules:
          - name: good
            query: Daimler
            channels: alerts
        """
    bad = """
        rules:
          - name: fine-but-in-a-bad-file
            query: Renault
          - name: bad
            query: Renault AND
        """
    ruleset, errors = load(tmp_path, monkeypatch, good, bad)
    assert [rule.name for rule in ruleset.rules] == ["good"]
    assert [str(error).splitlines()[0] for error in errors] == ["rules/b.yaml:5:23: AND at end of query"]


def test_rule_names_are_unique_across_files(tmp_path, monkeypatch):
    rule = """
        rules:
          - name: same
            query: Daimler
        """
    ruleset, errors = load(tmp_path, monkeypatch, rule, rule)
    assert [rule.path for rule in ruleset.rules] == ["rules/a.yaml"]
    assert [str(error) for error in errors] == [
        "rules/b.yaml:2:11: rule name 'same' is already used at rules/a.yaml:2"
    ]


def test_loaded_rule_fields(tmp_path, monkeypatch):
    ruleset, errors = load(
        tmp_path,
        monkeypatch,
        """
        rules:
          - name: renault-launches
            query: Renault launch*
            channels: alerts
            sources: [autoguide, carscoops]
            languages: en
            mode: daily
            min_mentions: 2
        """,
    )
    assert errors == []
    assert ruleset.rules == (
        Rule(
            name="renault-launches",
            query="Renault launch*",
            channels=("alerts",),
            sources=("autoguide", "carscoops"),
            languages=("en",),
            mode="daily",
            min_mentions=2,
            path="rules/a.yaml",
            line=2,
        ),
    )


def test_missing_path_and_empty_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("empty.yaml").write_text("", encoding="utf-8")
    ruleset, errors = load_rules([Path("empty.yaml"), Path("nowhere")])
    assert ruleset.rules == ()
    assert [str(error) for error in errors] == ["nowhere: no such file or directory"]


@pytest.mark.parametrize("path", sorted((FIXTURES / "bad").glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_fixture_files(path, monkeypatch):
    """Each file in fixtures/rules/bad states its own error on its first line."""
    monkeypatch.chdir(FIXTURES.parent.parent.parent)
    relative = path.relative_to(Path.cwd())
    expected = path.read_text(encoding="utf-8").splitlines()[0].removeprefix("# expect: ")
    ruleset, errors = load_rules([relative])
    assert [str(error).splitlines()[0] for error in errors] == [expected]
    assert ruleset.rules == ()


def test_good_fixture_files_and_shipped_rules_load_cleanly():
    for folder in (FIXTURES / "good", FIXTURES.parent.parent.parent / "rules"):
        ruleset, errors = load_rules([folder])
        assert errors == []
        assert ruleset.rules


def test_ruleset_refuses_a_bad_query():
    with pytest.raises(Exception, match="AND at end of query"):
        RuleSet([Rule(name="x", query="Daimler AND", path="x.yaml", line=3)])


ENTITIES_FILE = """
    entities:
      Daimler: [Daimler AG, Mercedes-Benz, Daimler-Benz]
      Renault: Renault
    """


@pytest.mark.parametrize(
    ("files", "errors"),
    [
        (
            [
                ENTITIES_FILE,
                """
                rules:
                  - name: a
                    query: "@Daimlr AND @Renault"
                """,
            ],
            [
                "rules/b.yaml:3:13: unknown entity '@Daimlr' (did you mean '@Daimler'?)\n"
                "    @Daimlr AND @Renault\n"
                "    ^"
            ],
        ),
        (
            [ENTITIES_FILE, "entities:\n  daimler: [Daimler]\n"],
            ["rules/b.yaml:2:3: entity 'daimler' is already defined at rules/a.yaml:2"],
        ),
        (
            ["entities:\n  Daimler: []\n"],
            ["rules/a.yaml:2:12: entity 'Daimler' needs at least one alias"],
        ),
        (
            ["entities:\n  Daimler: [Daimler, da*, '']\n"],
            [
                "rules/a.yaml:2:22: alias 'da*' of entity 'Daimler': a wildcard needs at least 3 letters"
                " before '*', as in partner*",
                "rules/a.yaml:2:27: an alias of entity 'Daimler' must be a non-empty string",
            ],
        ),
        (
            ["entities:\n  Daimler AG: [Daimler]\n"],
            ["rules/a.yaml:2:3: entity name 'Daimler AG' must be letters, digits, '-', '_' or '.'"],
        ),
        (
            ["entities: [Daimler]\n"],
            ["rules/a.yaml:1:11: entities must map a name to a list of aliases"],
        ),
        (
            [
                "entities:\n  Daimler: [Daimler, da*]\n",
                "rules:\n  - name: a\n    query: '@Daimler Renault'\n",
            ],
            [
                "rules/a.yaml:2:22: alias 'da*' of entity 'Daimler': a wildcard needs at least 3 letters"
                " before '*', as in partner*",
                "rules/b.yaml:3:13: entity '@Daimler' cannot be used: its definition at rules/a.yaml:2"
                " has errors\n    @Daimler Renault\n    ^",
            ],
        ),
    ],
)
def test_entity_errors(tmp_path, monkeypatch, files, errors):
    ruleset, found = load(tmp_path, monkeypatch, *files)
    assert [str(error) for error in found] == errors
    assert ruleset.rules == ()


def test_entities_are_shared_across_files(tmp_path, monkeypatch):
    rules = """
        rules:
          - name: daimler-renault
            query: "@daimler NEAR/5 @Renault"
        """
    ruleset, errors = load(tmp_path, monkeypatch, ENTITIES_FILE, rules)
    assert errors == []
    assert ruleset.entities == {
        "Daimler": ("Daimler AG", "Mercedes-Benz", "Daimler-Benz"),
        "Renault": ("Renault",),
    }
    url = "https://news.example/x"
    hit = Article(url=url, canonical_url=url, title="Mercedes-Benz and Renault", body="")
    miss = Article(url=url, canonical_url=url, title="Daimler and Renault", body="")  # 'Daimler' is no alias
    assert [match.rule.name for match in ruleset.match(hit)] == ["daimler-renault"]
    assert ruleset.match(miss) == []


def test_entities_of_a_file_with_a_broken_rule_still_serve_other_files(tmp_path, monkeypatch):
    broken = ENTITIES_FILE.rstrip() + "\n    rules:\n      - name: bad\n        query: Daimler AND\n"
    rules = "rules:\n  - name: good\n    query: '@Renault'\n"
    ruleset, errors = load(tmp_path, monkeypatch, broken, rules)
    assert [rule.name for rule in ruleset.rules] == ["good"]
    assert [str(error).splitlines()[0] for error in errors] == ["rules/a.yaml:6:23: AND at end of query"]


def test_reload_keeps_the_last_good_version_of_a_broken_file(tmp_path, monkeypatch):
    first, errors = load(
        tmp_path,
        monkeypatch,
        ENTITIES_FILE,
        "rules:\n  - name: daimler\n    query: '@Daimler'\n",
        "rules:\n  - name: renault\n    query: Renault\n",
    )
    assert errors == []
    Path("rules/b.yaml").write_text(
        "rules:\n  - name: daimler\n    query: '@Daimler AND'\n", encoding="utf-8"
    )
    Path("rules/c.yaml").write_text("rules:\n  - name: nissan\n    query: Nissan\n", encoding="utf-8")
    second, errors = reload_rules([Path("rules")], first)
    assert [str(error).splitlines()[0] for error in errors] == ["rules/b.yaml:3:25: AND at end of query"]
    assert sorted(rule.name for rule in second.rules) == ["daimler", "nissan"]  # b's old rule runs on
    url = "https://news.example/x"
    assert second.match(Article(url=url, canonical_url=url, title="Mercedes-Benz", body=""))
