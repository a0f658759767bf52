"""The dispatch and rule-check jobs keep what they loaded until monitor.yaml or the rule files change."""

from __future__ import annotations

from pathlib import Path

from monitor.config.model import Config, load_config
from monitor.ops.kept import KeptDispatcher, RuleCheck

RULE = "rules:\n  - name: {name}\n    query: '{name}'\n    channels: [team]\n"


def configure(tmp_path: Path) -> Config:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "one.yaml").write_text(RULE.format(name="alpha"), encoding="utf-8")
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"database: sqlite:///{tmp_path / 'monitor.db'}\nrules: ['{tmp_path / 'rules'}']\n"
        "channels:\n  team: ['json://127.0.0.1:9/']\n",
        encoding="utf-8",
    )
    return load_config(path, environ={})


def test_the_dispatcher_is_kept_until_the_rules_or_the_config_change(tmp_path: Path) -> None:
    config = configure(tmp_path)
    kept = KeptDispatcher()
    try:
        first = kept.get(config)
        assert set(first.rules) == {"alpha"}
        assert kept.get(config) is first  # nothing changed: the same dispatcher, nothing loaded

        (tmp_path / "rules" / "two.yaml").write_text(RULE.format(name="beta"), encoding="utf-8")
        second = kept.get(config)
        assert second is not first
        assert set(second.rules) == {"alpha", "beta"}

        reloaded = load_config(config.path, environ={})  # monitor.yaml read again
        assert kept.get(reloaded) is not second
    finally:
        kept.close()
    assert kept.dispatcher is None
    assert kept.database is None


def test_the_rule_check_looks_again_only_when_the_files_change(tmp_path: Path) -> None:
    config = configure(tmp_path)
    check, path = RuleCheck(), str(config.path)
    key = check.changed(path, config)
    assert key is not None  # never checked
    assert check.changed(path, config) == key  # not done yet (a failed check is tried again)
    check.done(path, key)
    assert check.changed(path, config) is None

    (tmp_path / "rules" / "one.yaml").write_text(RULE.format(name="gamma"), encoding="utf-8")
    assert check.changed(path, config) not in (None, key)
