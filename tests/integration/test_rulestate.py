"""A broken rule file keeps running in its last good version, across processes (SQLite, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.rulestate import running_rules
from monitor.store import Database

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
