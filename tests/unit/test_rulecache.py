"""The rule cache: the compiled rules of the files, re-read on any change, never trusted blindly."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest

import monitor.watch.cache as rulecache
from monitor.article import Article
from monitor.watch.cache import load_cached, load_rules_cached
from monitor.watch.rules import RuleSet, load_rules

RULES = """\
entities:
  Daimler: [Daimler, Mercedes-Benz]
rules:
  - name: daimler-vans
    query: "@Daimler AND vans"
    channels: [alerts]
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "a.yaml").write_text(RULES, encoding="utf-8")
    return folder


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    return folder


def test_cached_rules_equal_the_files(rules: Path, cache: Path) -> None:
    direct, direct_errors = load_rules([rules])
    first, _ = load_rules_cached([rules], cache)
    assert len(list(cache.glob("rules-*.pickle"))) == 1
    second, errors = load_rules_cached([rules], cache)
    assert second.rules == first.rules == direct.rules
    assert second.entities == direct.entities
    assert errors == direct_errors == []


def test_the_cache_is_used_until_a_file_changes(
    rules: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_rules_cached([rules], cache)
    reads: list[object] = []
    real = rulecache.read_rule_files
    monkeypatch.setattr(rulecache, "read_rule_files", lambda paths: reads.append(paths) or real(paths))
    load_rules_cached([rules], cache)
    assert reads == []  # from the cache
    time.sleep(0.01)
    (rules / "a.yaml").write_text(RULES.replace("vans", "trucks"), encoding="utf-8")
    changed, _ = load_rules_cached([rules], cache)
    assert len(reads) == 1
    assert changed.rules[0].query == "@Daimler AND trucks"
    (rules / "b.yml").write_text("rules:\n  - name: other\n    query: Renault\n", encoding="utf-8")
    added, _ = load_rules_cached([rules], cache)
    assert [rule.name for rule in added.rules] == ["daimler-trucks", "other"]


def test_an_edit_that_keeps_size_and_mtime_is_seen(
    rules: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy or a checkout can restore the old modification time: the contents decide."""
    file = rules / "a.yaml"
    before = file.stat()
    load_rules_cached([rules], cache)
    file.write_text(RULES.replace("vans", "cars"), encoding="utf-8")  # same length
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (file.stat().st_size, file.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    changed, _ = load_rules_cached([rules], cache)
    assert changed.rules[0].query == "@Daimler AND cars"
    reads: list[object] = []
    real = rulecache.read_rule_files
    monkeypatch.setattr(rulecache, "read_rule_files", lambda paths: reads.append(paths) or real(paths))
    again, _ = load_rules_cached([rules], cache)
    assert reads == []  # the new contents have their own entry
    assert again.rules == changed.rules


def test_a_file_that_changes_while_read_is_not_cached_under_its_old_contents(
    rules: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = rulecache.read_rule_files

    def edited_meanwhile(paths: list[Path]) -> object:
        found = real(paths)
        (rules / "a.yaml").write_text(RULES.replace("vans", "trucks"), encoding="utf-8")
        return found

    monkeypatch.setattr(rulecache, "read_rule_files", edited_meanwhile)
    loaded, _ = load_rules_cached([rules], cache)
    assert loaded.rules[0].query == "@Daimler AND vans"
    assert list(cache.glob("rules-*.pickle")) == []
    monkeypatch.setattr(rulecache, "read_rule_files", real)
    (rules / "a.yaml").write_text(RULES, encoding="utf-8")
    assert load_rules_cached([rules], cache)[0].rules[0].query == "@Daimler AND vans"


def test_a_fifo_named_as_a_rules_file_does_not_block_the_key(rules: Path, cache: Path) -> None:
    os.mkfifo(rules.parent / "pipe.yaml")
    loaded, errors = load_rules_cached([rules, rules.parent / "pipe.yaml"], cache)
    assert [rule.name for rule in loaded.rules] == ["daimler-vans"]
    assert [error.message for error in errors] == ["not a regular file"]


def test_errors_come_back_from_the_cache_too(rules: Path, cache: Path) -> None:
    (rules / "bad.yaml").write_text("rules:\n  - name: x\n    query: '(Daimler'\n", encoding="utf-8")
    _, first = load_rules_cached([rules], cache)
    _, second = load_rules_cached([rules], cache)
    assert [str(error) for error in second] == [str(error) for error in first]
    assert first


def test_a_cache_others_can_write_is_not_trusted(rules: Path, cache: Path) -> None:
    load_rules_cached([rules], cache)
    (entry,) = cache.glob("rules-*.pickle")
    entry.write_bytes(b"not a pickle of ours")
    os.chmod(cache, 0o777)
    loaded, _ = load_rules_cached([rules], cache)  # reads the files, ignores the entry
    assert [rule.name for rule in loaded.rules] == ["daimler-vans"]
    os.chmod(cache, 0o700)
    entry.write_bytes(b"garbage")
    loaded, _ = load_rules_cached([rules], cache)  # unreadable entry: read the files again
    assert [rule.name for rule in loaded.rules] == ["daimler-vans"]


MATCHING = """\
entities:
  Daimler: [Daimler, Mercedes-Benz, "Mercedes Benz"]
  Renault: [Renault, Renault-Nissan]
rules:
  - name: alliance
    query: "@Daimler AND @Renault AND (alliance* OR partnership OR \\"teams up\\")"
  - name: alliance-twin
    query: "@Daimler AND @Renault AND (alliance* OR partnership OR \\"teams up\\")"
    languages: [de]
  - name: near
    query: "@Daimler NEAR/5 @Renault AND NOT title:F1"
  - name: ordered
    query: "Renault ONEAR/3 Nissan"
  - name: busy
    query: "Daimler OR Renault"
    min_mentions: 3
  - name: other-source
    query: "Renault"
    sources: [elsewhere]
"""

ARTICLES = [
    ("Daimler and Renault in alliance talks", "The Mercedes-Benz maker and Renault-Nissan teams up."),
    ("Renault F1 partnership", "Daimler's Mercedes GP team is a rival; Renault Nissan too."),
    ("Daimler results", "Daimler sold more cars. Daimler, Daimler, Renault."),
    ("Nothing here", "Volkswagen and Suzuki."),
]


def _outcome(ruleset: RuleSet) -> list[list[tuple[object, ...]]]:
    found = []
    for number, (title, body) in enumerate(ARTICLES):
        url = f"https://news.example/{number}"
        item = Article(url=url, canonical_url=url, title=title, body=body, source="example", language="en")
        found.append([(m.rule, m.terms, m.snippet, m.mentions, m.hits) for m in ruleset.match(item)])
    return found


def test_the_compiled_rules_come_back_from_the_cache_and_match_alike(tmp_path: Path, cache: Path) -> None:
    folder = tmp_path / "matching"
    folder.mkdir()
    (folder / "m.yaml").write_text(MATCHING, encoding="utf-8")
    fresh, errors = load_rules([folder])
    assert errors == []
    expected = _outcome(fresh)
    assert any(expected)  # the articles exercise hits
    assert not all(expected)  # and misses
    load_rules_cached([folder], cache)  # written
    cached, _ = load_rules_cached([folder], cache)  # unpickled
    assert cached is not fresh
    assert cached.rules == fresh.rules
    assert cached.entities == fresh.entities
    assert cached.queries == fresh.queries
    assert _outcome(cached) == expected


def test_an_unpickled_rule_set_matches_alike_in_another_process(tmp_path: Path, cache: Path) -> None:
    """``str`` hashes differ between processes: nothing pickled may keep one (``Term._hash``)."""
    folder = tmp_path / "matching"
    folder.mkdir()
    (folder / "m.yaml").write_text(MATCHING, encoding="utf-8")
    fresh, _ = load_rules([folder])
    load_rules_cached([folder], cache)
    script = (
        "import sys, pickle, json\n"
        "from pathlib import Path\n"
        "from monitor.watch.cache import load_rules_cached\n"
        "import tests.unit.test_rulecache as t\n"
        "import monitor.watch.cache as rc\n"
        "rc.read_rule_files = None  # must come from the cache\n"
        "rules, _ = load_rules_cached([Path(sys.argv[1])], Path(sys.argv[2]))\n"
        "again = t.RuleSet(rules.rules, rules.entities)  # parsed here: equal trees, equal hashes\n"
        "assert [hash(q) for q in again.queries] == [hash(q) for q in rules.queries]\n"
        "sys.stdout.buffer.write(pickle.dumps(t._outcome(rules)))\n"
    )
    root = Path(__file__).parent.parent.parent
    for seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", script, str(folder), str(cache)],
            capture_output=True,
            check=True,
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)},
        )
        assert pickle.loads(done.stdout) == _outcome(fresh)


def test_the_entry_keeps_the_snapshot_digest(rules: Path, cache: Path) -> None:
    written = load_cached([rules], cache)
    read = load_cached([rules], cache)
    assert read.digest == written.digest == rulecache.snapshot(read.rules)[0]


def test_a_code_change_is_a_new_entry(rules: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_rules_cached([rules], cache)
    monkeypatch.setattr(rulecache, "_code_digest", lambda: "other code")
    load_rules_cached([rules], cache)
    assert len(list(cache.glob("rules-*.pickle"))) == 2


def test_rules_that_cannot_be_pickled_are_still_loaded(
    rules: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rulecache.Loaded, "__reduce__", lambda self: (lambda: None, ()), raising=False)
    loaded, _ = load_rules_cached([rules], cache)
    assert [rule.name for rule in loaded.rules] == ["daimler-vans"]
    assert list(cache.iterdir()) == []  # no entry, no temporary file left behind
