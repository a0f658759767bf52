"""The `monitor` CLI in-process (click's CliRunner): check, parse, match, help texts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.demo.server import site_root

ROOT = Path(__file__).parents[2]
SITE = site_root()
EXPECTED = json.loads((SITE / "expected.json").read_text(encoding="utf-8"))
SEED_PATH = next(page["path"] for page in EXPECTED if page["alerts"] and page["outlet"] == "autoguide")
BASE = "http://127.0.0.1:8642"


def run(*args: str, config: Path | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    options = ["--config", str(config)] if config else ["--config", "/nonexistent/monitor.yaml"]
    result = runner.invoke(main, [*options, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def seed_page(tmp_path: Path) -> Path:
    """The demo seed page as a crawler would have fetched it ({{base}} filled in)."""
    text = (SITE / SEED_PATH.lstrip("/")).read_text(encoding="utf-8").replace("{{base}}", BASE)
    path = tmp_path / "seed.html"
    path.write_text(text, encoding="utf-8")
    return path


def test_check_reports_every_broken_file_with_positions(tmp_path: Path) -> None:
    (tmp_path / "syntax.yaml").write_text("rules:\n  - name: a\n    query: [unclosed\n", encoding="utf-8")
    (tmp_path / "unknown.yaml").write_text(
        "rules:\n  - name: b\n    query: Daimler\n    chanels: [alerts]\n", encoding="utf-8"
    )
    (tmp_path / "query.yaml").write_text(
        "rules:\n  - name: c\n    query: '(Daimler AND Renault'\n", encoding="utf-8"
    )
    code, _out, err = run("check", str(tmp_path))
    assert code == 1
    lines = err.splitlines()
    assert any(re.match(rf"{re.escape(str(tmp_path))}/syntax\.yaml:4:1: ", line) for line in lines), err
    assert any(line.startswith(f"{tmp_path}/unknown.yaml:4:5: unknown key 'chanels'") for line in lines), err
    assert "did you mean 'channels'?" in err
    query_error = next(line for line in lines if line.startswith(f"{tmp_path}/query.yaml:3:"))
    assert "parenthesis" in query_error, err
    assert "0 rule(s): 3 error(s)" in err


def test_check_passes_on_the_shipped_rules_and_config() -> None:
    code, out, err = run("check", config=ROOT / "monitor.yaml")
    assert code == 0, err
    assert "0 error(s)" in out


def test_check_names_unknown_channels(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text("rules: [rules]\nchannels:\n  alerts: ['console://']\n", encoding="utf-8")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(
        "rules:\n  - name: r\n    query: Daimler\n    channels: [team]\n", encoding="utf-8"
    )
    code, _, err = run("check", config=config)
    assert code == 1
    assert "rule 'r' names channel 'team'" in err
    assert f"{tmp_path}/rules/r.yaml:2:" in err


def test_parse_prints_one_json_line_per_file(seed_page: Path, tmp_path: Path) -> None:
    import gzip

    compressed = tmp_path / "seed.html.gz"
    compressed.write_bytes(gzip.compress(seed_page.read_bytes()))
    code, out, err = run("parse", str(seed_page), str(compressed), "--json")
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert [record["file"] for record in records] == [str(seed_page), str(compressed)]
    for record in records:
        assert record["title"] == "Report: Daimler, Renault Team Up for Small Car Alliance"
        assert record["authors"] == ["Colum Wood"]
        assert record["published_at"] == "2010-04-06T17:30:00Z"
        assert record["canonical_url"] == BASE + SEED_PATH
        assert record["language"] == "en"
        assert "German automaker Daimler AG" in record["body"]
        assert "[Source: Automotive News]" in record["body"]
        assert "certifiable car snob" not in record["body"]
        assert "More by Colum Wood" not in record["body"]
        assert "Join the conversation" not in record["body"]


def test_parse_reports_unparsable_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    code, out, _ = run("parse", str(empty), "--json")
    assert code == 1
    assert json.loads(out)["file"] == str(empty)
    assert json.loads(out)["error"]


def test_match_is_a_dry_run_over_html_and_json(seed_page: Path, tmp_path: Path) -> None:
    near_miss = tmp_path / "f1.json"
    near_miss.write_text(
        json.dumps(
            {
                "title": "Kubica gives Renault F1 team a podium",
                "body": "Renault's Formula 1 team beat Mercedes GP in Melbourne; a new sponsor partnership "
                "with Daimler's rival was announced.",
            }
        ),
        encoding="utf-8",
    )
    code, out, err = run("match", "--rules", str(ROOT / "rules"), str(seed_page), str(near_miss), "--json")
    assert code == 0, err
    assert [json.loads(line) for line in out.splitlines()] == [
        {"file": str(seed_page), "matches": ["daimler-renault-alliance"]},
        {"file": str(near_miss), "matches": []},
    ]
    code, out, _ = run("match", "--rules", str(ROOT / "rules"), str(seed_page), "--json", "--explain")
    explained = json.loads(out)["explain"][0]
    assert explained["rule"] == "daimler-renault-alliance"
    assert "**" in explained["snippet"]


def test_missing_config_is_explained() -> None:
    code, _, err = run("alerts")
    assert code == 1
    assert "/nonexistent/monitor.yaml: no such configuration file" in err


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_help_and_is_in_the_readme(command: str) -> None:
    code, out, _ = run(command, "--help")
    assert code == 0
    assert "Usage:" in out
    assert len(out.splitlines()) > 5
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"monitor {command}" in readme
    group = main.commands[command]
    for sub in getattr(group, "commands", {}):
        assert f"monitor {command} {sub}" in readme
