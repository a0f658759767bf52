"""The rule-file cache: same rules as reading the files, re-read on any change, never trusted blindly."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import monitor.rulecache as rulecache
from monitor.rulecache import load_rules_cached
from monitor.rules import load_rules

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
