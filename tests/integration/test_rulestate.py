"""A broken rule file keeps running in its last good version, across processes (SQLite, PostgreSQL)."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

import monitor.watch.state
from monitor.store.database import Database
from monitor.store.models import RuleSnapshot
from monitor.watch.cache import load_cached
from monitor.watch.state import running_rules

GOOD = "rules:\n  - name: daimler-renault\n    query: Daimler AND Renault\n"
BROKEN = "rules:\n  - name: daimler-renault\n    query: (Daimler AND Renault\n"
OTHER = "rules:\n  - name: vw-suzuki\n    query: Volkswagen AND Suzuki\n"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_broken_file_keeps_its_last_good_rules(database: Database, tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    main, other = folder / "main.yaml", folder / "other.yaml"
    main.write_text(GOOD, encoding="utf-8")
    other.write_text(OTHER, encoding="utf-8")
    rules, errors = running_rules(database, [folder])
    assert (sorted(rule.name for rule in rules), errors) == (["daimler-renault", "vw-suzuki"], [])

    main.write_text(BROKEN + "\n", encoding="utf-8")  # another size: the cache notices
    rules, errors = running_rules(database, [folder])
    assert [str(error).split(":")[0] for error in errors] == [str(main)]
    assert sorted(rule.name for rule in rules) == ["daimler-renault", "vw-suzuki"]
    assert rules.get("daimler-renault") is not None
    assert rules.get("daimler-renault").query == "Daimler AND Renault"  # type: ignore[union-attr]

    other.write_text(OTHER.replace("Suzuki", "Suzuki Motor"), encoding="utf-8")  # edits still apply
    rules, _ = running_rules(database, [folder])
    assert rules.get("vw-suzuki").query == "Volkswagen AND Suzuki Motor"  # type: ignore[union-attr]

    main.write_text(GOOD.replace("Renault", "Nissan"), encoding="utf-8")  # fixed: the new version runs
    rules, errors = running_rules(database, [folder])
    assert errors == []
    assert rules.get("daimler-renault").query == "Daimler AND Nissan"  # type: ignore[union-attr]


def test_without_a_snapshot_a_broken_file_runs_nothing(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "main.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    rules, errors = running_rules(database, [path])
    assert len(rules) == 0
    assert len(errors) == 1


def test_a_stored_rule_this_version_refuses_does_not_stop_the_others(
    database: Database, tmp_path: Path
) -> None:
    # The snapshot was written by a version without the query limits: 500 nested
    # parentheses. Reading it back (a file is broken) must not raise (a RecursionError
    # or RuleError would stop every crawl); that rule is dropped, the others run.
    folder = tmp_path / "rules"
    folder.mkdir()
    main, other = folder / "main.yaml", folder / "other.yaml"
    main.write_text(GOOD, encoding="utf-8")
    other.write_text(OTHER, encoding="utf-8")
    running_rules(database, [folder])
    with database.transaction() as session:
        row = session.get(RuleSnapshot, 1)
        assert row is not None
        deep = {**row.rules[0], "name": "deep", "query": "(" * 500 + "Daimler" + ")" * 500}
        row.rules = [*row.rules, deep]
    main.write_bytes(b"rules:\n  - name: daimler-renault\n    query: Dai\x00mler\n")
    rules, errors = running_rules(database, [folder])
    assert [str(error) for error in errors] == [
        f"{main}:3:15: a NUL byte (U+0000) is not allowed in a YAML file"
    ]
    assert sorted(rule.name for rule in rules) == ["daimler-renault", "vw-suzuki"]


def test_an_unexpected_failure_keeps_every_last_good_rule(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "main.yaml"
    path.write_text(GOOD, encoding="utf-8")
    running_rules(database, [path])
    # A bug in reading or compiling (here: the compiler itself fails) is no reason to stop.
    monkeypatch.setattr("monitor.watch.cache.read_rule_files", _fails)
    path.write_text(GOOD + "\n", encoding="utf-8")
    rules, errors = running_rules(database, [path])
    assert [rule.name for rule in rules] == ["daimler-renault"]
    assert [str(error) for error in errors] == ["cannot load the rule files (RuntimeError: 'compiler bug')"]


def _fails(paths: object) -> object:
    raise RuntimeError("compiler bug")


def test_processes_starting_together_both_write_the_first_snapshot(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "main.yaml"
    path.write_text(GOOD, encoding="utf-8")
    digest = load_cached([path]).digest  # the rule cache is written before the race
    # Both find no snapshot before either writes it. On SQLite the second cannot begin
    # before the first commits (BEGIN IMMEDIATE), so there the barrier times out.
    barrier = threading.Barrier(2)
    snapshot = monitor.watch.state.snapshot

    def together(*args: object) -> object:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)
        return snapshot(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(monitor.watch.state, "snapshot", together)
    results: list[object] = []

    def start() -> None:
        try:
            rules, errors = running_rules(database, [path])
            results.append(([rule.name for rule in rules], errors))
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [(["daimler-renault"], [])] * 2
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(RuleSnapshot)) == 1
        assert session.scalar(select(RuleSnapshot.digest)) == digest
