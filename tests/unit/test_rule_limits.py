"""Hostile rule files and queries: each is one ``file:line:col: message``, fast, never a crash.

Issue 11: a NUL byte, 5,000 nested parentheses or a YAML alias bomb in one rules file
raised out of the loader (a ``ReaderError``, a ``RecursionError``, gigabytes of ``repr``).
The limits are documented in docs/rules.md; these tests pin each to its exact message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.config.yamlfile import MAX_BYTES, MAX_VALUES, load_yaml
from monitor.errors import ConfigError, RuleError
from monitor.matching.query import MAX_DEPTH, MAX_LENGTH, QuerySyntaxError, caret, parse
from monitor.watch.rules import Rule, RuleSet, keep_last_good, load_rules

NESTED = (
    "query nested deeper than 50 levels (each '(', NOT, NEAR and each word of a"
    ' "phrase"~n adds one); split it into simpler rules'
)


def _rule(query: str) -> bytes:
    return f"rules:\n  - name: hostile\n    query: '{query}'\n".encode()


def _alias_bomb(width: int, levels: int) -> bytes:
    """The "billion laughs": each level a list of ``width`` aliases of the level below."""
    lines = ["entities:", '  a0: &a0 ["lol"]']
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return ("\n".join(lines) + "\nrules:\n  - name: lol\n    query: lol\n").encode()


def _nested_aliases() -> bytes:
    """Aliases of mappings that hold aliases: expansion hidden one level down."""
    lines = ["base: &b0 {x: [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]}"]
    lines += [f"l{i}: &b{i} {{{', '.join(f'k{j}: *b{i - 1}' for j in range(10))}}}" for i in range(1, 5)]
    return ("\n".join(lines) + "\nrules: []\n").encode()


WORDS = " ".join(f"w{i}" for i in range(100))

# name → (file content, or a function making it, expected first line after "<file>:")
HOSTILE: dict[str, tuple[bytes | Callable[[], bytes], str]] = {
    "nul-byte": (
        b"rules:\n  - name: nul\n    query: Dai\x00mler\n",
        "3:15: a NUL byte (U+0000) is not allowed in a YAML file",
    ),
    "control-character": (
        b"rules:\n  - name: bell\n    query: Daimler\x07\n",
        "3:19: control character U+0007 is not allowed in a YAML file",
    ),
    "latin-1-byte": (
        b"rules:\n  - name: cafe\n    query: caf\xe9 racer\n",
        "3:15: byte 0xe9 is not UTF-8 text (save the file as UTF-8)",
    ),
    "5000-open-parentheses": (_rule("(" * 5000 + "Daimler"), f"3:63: {NESTED}"),
    "5000-parentheses-over-the-length": (
        _rule("(" * 5000 + "Daimler" + ")" * 5000),
        "3:10013: query is too long: 10,007 characters, the limit is 10,000",
    ),
    "2000-not": (_rule("Daimler AND " + "NOT " * 2000 + "Renault"), f"3:225: {NESTED}"),
    "5000-not": (
        _rule("Daimler AND " + "NOT " * 5000 + "Renault"),
        "3:10013: query is too long: 20,019 characters, the limit is 10,000",
    ),
    "minus-and-parentheses": (_rule("Daimler " + "-(" * 60 + "Renault"), f"3:71: {NESTED}"),
    "near-chain": (_rule(" NEAR/1 ".join(f"w{i}" for i in range(100))), f"3:546: {NESTED}"),
    "long-phrase-with-slop": (_rule(f'"{WORDS}"~3'), f"3:13: {NESTED}"),
    "oversize-query": (
        _rule("daimler " * 1250 + "x"),
        "3:10013: query is too long: 10,001 characters, the limit is 10,000",
    ),
    "deep-flow-yaml": (
        ("rules: " + "[" * 5000 + "]" * 5000 + "\n").encode(),
        "1:57: YAML nested deeper than 50 levels",
    ),
    "deep-block-yaml": (
        ("rules:\n" + "".join("  " * i + "- \n" for i in range(60))).encode(),
        "51:99: YAML nested deeper than 50 levels",
    ),
    "billion-laughs": (
        lambda: _alias_bomb(9, 9),
        "6:37: YAML aliases here expand to more than 10,000 values; refusing to expand them"
        " (write the values out, or use fewer aliases)",
    ),
    "64-alias-bomb": (
        lambda: _alias_bomb(8, 8),
        "6:47: YAML aliases here expand to more than 10,000 values; refusing to expand them"
        " (write the values out, or use fewer aliases)",
    ),
    "nested-aliases": (
        _nested_aliases,
        "4:59: YAML aliases here expand to more than 10,000 values; refusing to expand them"
        " (write the values out, or use fewer aliases)",
    ),
    "too-many-values": (
        lambda: ("rules: [" + "1," * MAX_VALUES + "1]\n").encode(),
        "1:500003: more than 250,000 YAML values in one file; split it into several files",
    ),
    "oversize-file": (
        lambda: b"rules: []\n" + b"#" * MAX_BYTES,
        f"1:1: file is too big: {MAX_BYTES + 10:,} bytes, the limit is {MAX_BYTES:,}",
    ),
}


def _write(tmp_path: Path, name: str) -> Path:
    content, _ = HOSTILE[name]
    path = tmp_path / f"{name}.yaml"
    data = content() if callable(content) else content
    path.write_bytes(data.replace(b"name: hostile", f"name: {name}".encode()))  # unique names
    return path


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_rule_file_is_one_positioned_error(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, name)
    rules, errors = load_rules([path])
    assert len(rules) == 0
    assert [type(error) for error in errors] == [RuleError]
    assert str(errors[0]).splitlines()[0] == f"{path}:{HOSTILE[name][1]}"
    assert len(str(errors[0])) < 600  # the message quotes at most a window of the query


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "name", sorted(name for name in HOSTILE if "query" not in HOSTILE[name][1])
)  # YAML-level
def test_load_yaml_raises_only_config_errors(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, name)
    with pytest.raises(ConfigError) as caught:
        load_yaml(path)
    assert caught.value.path == str(path)
    assert caught.value.line is not None
    assert caught.value.column is not None


@pytest.mark.timeout(60)
def test_check_reports_every_hostile_file_and_the_other_errors(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    paths = [_write(folder, name) for name in sorted(HOSTILE)]
    (folder / "typo.yaml").write_text("rules:\n  - name: typo\n    query: Daimler AND\n", encoding="utf-8")
    (folder / "good.yaml").write_text("rules:\n  - name: good\n    query: Daimler\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(folder)])
    assert result.exit_code == 1
    firsts = [line for line in result.stderr.splitlines() if line.startswith(str(folder))]
    expected = [f"{path}:{HOSTILE[path.stem][1]}" for path in paths]
    expected.append(f"{folder / 'typo.yaml'}:3:23: AND at end of query")
    assert sorted(firsts) == sorted(expected)
    assert "Traceback" not in result.output
    assert (
        result.stderr.splitlines()[-1] == f"checked 0 config file(s) and 1 rule(s): {len(expected)} error(s)"
    )


@pytest.mark.timeout(60)
def test_check_and_match_report_alike_from_the_rule_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``check`` and ``match`` load rules through the cache: every error comes back from it."""
    import monitor.watch.cache as rulecache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "rules"
    folder.mkdir()
    for name in sorted(HOSTILE):
        _write(folder, name)
    (folder / "good.yaml").write_text("rules:\n  - name: good\n    query: Daimler\n", encoding="utf-8")
    article = tmp_path / "article.json"
    article.write_text(json.dumps({"title": "Daimler", "body": "news"}), encoding="utf-8")
    first = CliRunner().invoke(main, ["check", str(folder)])
    first_match = CliRunner().invoke(main, ["match", "--rules", str(folder), str(article)])
    assert list((tmp_path / "cache" / "monitor").glob("rules-*.pickle"))
    monkeypatch.setattr(rulecache, "read_rule_files", None)  # must come from the cache now
    second = CliRunner().invoke(main, ["check", str(folder)])
    second_match = CliRunner().invoke(main, ["match", "--rules", str(folder), str(article)])
    assert first.exit_code == second.exit_code == 1
    assert second.stderr == first.stderr
    assert len(second.stderr.splitlines()) > len(HOSTILE)
    assert first_match.exit_code == second_match.exit_code == 1  # the errors refuse the dry run
    assert second_match.stderr == first_match.stderr


@pytest.mark.timeout(20)
def test_an_error_about_an_aliased_value_does_not_print_it(tmp_path: Path) -> None:
    path = tmp_path / "names.yaml"
    items = ", ".join(["x" * 1000] * 50)
    path.write_text(
        f"big: &big [{items}]\nrules:\n  - name: *big\n    query: Daimler\n    channels: *big\n",
        encoding="utf-8",
    )
    _, errors = load_rules([path])
    messages = [str(error) for error in errors]
    assert messages[0] == f"{path}:1:1: unknown key 'big' in rules file"
    assert f"{path}:1:6: rule name a list must be lowercase-kebab, like daimler-renault" in messages
    assert all(len(message) < 300 for message in messages), messages


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("query", "column"),
    [
        ("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1), MAX_DEPTH + 1),
        ("NOT " * (MAX_DEPTH + 1) + "a", 1 + 4 * MAX_DEPTH),
        ("a " + "-" * 1 + "(" * MAX_DEPTH + "b" + ")" * MAX_DEPTH, 3 + MAX_DEPTH),
        (" NEAR/1 ".join(["a"] * (MAX_DEPTH + 1)), 3 + 9 * (MAX_DEPTH - 1)),
        ('"' + " ".join(["a"] * (MAX_DEPTH + 1)) + '"~2', 1),
    ],
)
def test_the_depth_limit_points_at_what_goes_one_level_too_deep(query: str, column: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    assert caught.value.message.startswith(NESTED)
    assert caught.value.column == column


@pytest.mark.parametrize(
    "query",
    [
        "(" * (MAX_DEPTH - 1) + "a" + ")" * (MAX_DEPTH - 1),
        " NEAR/1 ".join(["a"] * MAX_DEPTH),
        '"' + " ".join(["a"] * MAX_DEPTH) + '"~2',
        "a " * (MAX_LENGTH // 2 - 1) + "a",
    ],
)
def test_queries_at_the_limits_parse(query: str) -> None:
    parse(query)


def test_the_caret_of_a_long_query_shows_a_window() -> None:
    query = "a " * 3000 + "(b"
    shown = caret(query, len(query) - 1)
    assert shown == "    …" + ("a " * 50)[2:] + "(b\n" + " " * 103 + "^"


def test_a_kept_rule_this_version_refuses_is_dropped_not_fatal() -> None:
    deep = Rule("deep", "(" * 60 + "a" + ")" * 60, path="old.yaml")
    previous = RuleSet.__new__(RuleSet)  # as unpickled from a cache of an older version
    previous.rules, previous.entities = (deep, Rule("kept", "b", path="old.yaml")), {}
    fresh = RuleSet([Rule("new", "c", path="new.yaml")])
    rules = keep_last_good(fresh, [RuleError("broken", "old.yaml", 1, 1)], previous)
    assert [rule.name for rule in rules] == ["new", "kept"]


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[" * 5000 + "]" * 5000, "1:21: JSON nested deeper than 20 levels"),
        (
            '{"title": "x",\n "body": ' + '{"a": ' * 100 + "1" + "}" * 100 + "}",
            "2:124: JSON nested deeper than 20 levels",
        ),
    ],
)
def test_match_refuses_deep_json_with_its_position(tmp_path: Path, content: str, message: str) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: any\n    query: Daimler\n", encoding="utf-8")
    article = tmp_path / "article.json"
    article.write_text(content, encoding="utf-8")
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"title": "Daimler", "body": "news"}), encoding="utf-8")
    result = CliRunner().invoke(main, ["match", "--rules", str(rules), str(article), str(good)])
    assert result.exit_code == 1
    assert result.stderr == f"{article}:{message}\n"
    assert result.stdout == f"{good}: any\n"  # the next article is still matched
