"""monitor.yaml and rules files are parsed by libyaml when PyYAML has it; Python only for messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.config import yamlfile
from monitor.config.model import load_config
from monitor.errors import ConfigError
from monitor.watch.rules import load_rules

needs_libyaml = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")


class _NoPython(yamlfile._Loader):
    def __init__(self, stream: str, path: str) -> None:
        raise AssertionError("the pure-Python parser was used for a valid file")


@needs_libyaml
def test_valid_files_never_reach_the_python_parser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert yamlfile.FAST
    monkeypatch.setattr(yamlfile, "_Loader", _NoPython)
    rules = tmp_path / "rules.yaml"
    rules.write_text("entities:\n  D: [Daimler]\nrules:\n  - name: d\n    query: '@D'\n", encoding="utf-8")
    config = tmp_path / "monitor.yaml"
    config.write_text("database: sqlite:///m.db\nrules: [rules.yaml]\n", encoding="utf-8")
    ruleset, errors = load_rules([rules])
    assert (errors, [rule.name for rule in ruleset]) == ([], ["d"])
    assert load_config(config, environ={}).rule_paths == (rules.resolve(),)


@needs_libyaml
def test_a_syntax_error_keeps_the_python_parsers_message(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("rules:\n  - name: x\n    query: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        yamlfile.load_yaml(path)
    assert str(caught.value) == f"{path}:4:1: expected ',' or ']', but got '<stream end>'"
