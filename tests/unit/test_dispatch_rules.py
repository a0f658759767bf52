"""The dispatcher's rule settings come from the rule cache, not from reading YAML every pass."""

from __future__ import annotations

from pathlib import Path

import pytest

import monitor.watch.cache as rulecache
from monitor.config.model import Config
from monitor.notify import Dispatcher
from monitor.notify.policy import RulePolicy
from monitor.store.database import Database

GOOD = """\
rules:
  - name: daily-news
    query: Daimler
    mode: daily
  - name: capped
    query: Renault
    max_per_hour: 3
"""
BROKEN = """\
rules:
  - name: weekly-news
    query: Nissan
    mode: weekly
  - name: bad
    query: "(Nissan"
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "good.yaml").write_text(GOOD, encoding="utf-8")
    (folder / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    return Config(path=None, database_url=f"sqlite:///{tmp_path / 'monitor.db'}", rule_paths=(folder,))


def _dispatcher(config: Config) -> Dispatcher:
    database = Database(config.database_url)
    try:
        return Dispatcher.from_config(database, config)
    finally:
        database.close()


def test_the_rules_modes_come_from_the_clean_files(config: Config) -> None:
    dispatcher = _dispatcher(config)
    assert dispatcher.rules == {
        "daily-news": RulePolicy(mode="daily"),
        "capped": RulePolicy(max_per_hour=3),
    }  # a broken file contributes no rules here


def test_a_second_dispatcher_reads_no_yaml(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _dispatcher(config)
    assert list((Path(config.rule_paths[0]).parent / "cache" / "monitor").glob("rules-*.pickle"))
    reads: list[object] = []
    real = rulecache.read_rule_files
    monkeypatch.setattr(rulecache, "read_rule_files", lambda paths: reads.append(paths) or real(paths))
    second = _dispatcher(config)
    assert reads == []
    assert second.rules == first.rules


def test_without_a_cache_folder_the_files_are_read(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rulecache, "cache_folder", lambda: None)
    monkeypatch.setattr(rulecache, "RuleSet", None)  # nothing is compiled for the settings
    assert set(_dispatcher(config).rules) == {"daily-news", "capped"}
