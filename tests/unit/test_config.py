"""monitor.yaml loading: defaults, precedence, env interpolation, and every error positioned."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config.model import ConfigErrors, load_config
from monitor.config.values import parse_duration
from monitor.urls import canonical_url

GOOD = """\
database: sqlite:///data/monitor.db
rules: [rules]
sources:
  - name: autoblog
    kind: feed
    url: https://www.autoblog.com/rss.xml
    schedule: {every: 10m, jitter: 0}
  - name: wire
    kind: listing
    url: https://wire.example/industry/
    follow: ['/industry/\\d{4}/']
    schedule: {cron: "*/20 * * * *"}
channels:
  team:
    - mailtos://bot:${SMTP_PASSWORD}@smtp.example.com
    - ${OPTIONAL_URL:-}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load_config(write(tmp_path, text), environ=environ or {})
    return [str(error) for error in caught.value.errors]


def test_good_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), environ={"SMTP_PASSWORD": "s3cret"})
    assert config.database_url == f"sqlite:///{tmp_path / 'data/monitor.db'}"
    assert [source.name for source in config.sources] == ["autoblog", "wire"]
    assert config.sources[0].schedule.every == 600
    assert config.sources[0].schedule.jitter == 0
    assert config.sources[1].schedule.cron == "*/20 * * * *"
    assert config.sources[1].follow == ("/industry/\\d{4}/",)
    assert config.channels == {"team": ("mailtos://bot:s3cret@smtp.example.com",)}
    assert config.rule_paths == ((tmp_path / "rules").resolve(),)


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), environ={})
    assert config.database_url == f"sqlite:///{(tmp_path / 'monitor.db').resolve()}"
    assert config.sources == ()


def test_precedence_file_then_environment_then_flags(tmp_path: Path) -> None:
    path = write(tmp_path, "database: sqlite:///a.db\n")
    assert load_config(path, environ={}).database_url.endswith("/a.db")
    env = {"MONITOR_DATABASE_URL": "postgresql://db/monitor"}
    assert load_config(path, environ=env).database_url == "postgresql://db/monitor"
    overrides = {"database_url": "sqlite:///c.db"}
    assert load_config(path, environ=env, overrides=overrides).database_url == "sqlite:///c.db"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sourcs: []\n", "monitor.yaml:1:1: unknown key 'sourcs' in monitor.yaml (did you mean 'sources'?)"),
        (
            "sources:\n  - name: a\n    kind: rss\n    url: https://a.example/\n",
            "monitor.yaml:3:11: unknown source kind 'rss'; use feed, sitemap or listing",
        ),
        (
            "sources:\n  - name: a\n    kind: feed\n    url: ftp://a.example/\n",
            "monitor.yaml:4:10: source url 'ftp://a.example/' must start with http:// or https://",
        ),
        ("sources:\n  - name: a\n    kind: feed\n", "monitor.yaml:2:5: source needs 'url'"),
        (
            "sources:\n  - {name: a, kind: feed, url: 'https://a/', schedule: {every: soon}}\n",
            "monitor.yaml:2:64: every: 'soon' is not a duration like 90s, 15m, 2h, 1d, 2w, 6mo or 1y",
        ),
        (
            "sources:\n  - {name: a, kind: feed, url: 'https://a/', schedule: {cron: '61 * * * *'}}\n",
            "monitor.yaml:2:63: cron: Error validating expression '61': the last value (61) is "
            "higher than the maximum value (59)",
        ),
        ("channels:\n  team: ['${TOKEN}']\n", "monitor.yaml:2:10: environment variable TOKEN is not set"),
        ("timezone: Mars/Olympus\n", "monitor.yaml:1:11: timezone: unknown time zone 'Mars/Olympus'"),
        ("a: 1\na: 2\n", "monitor.yaml:2:1: duplicate key 'a'"),
        ("sources: [\n", "monitor.yaml:2:1: expected the node content, but found '<stream end>'"),
    ],
)
def test_errors_name_file_line_and_column(tmp_path: Path, text: str, expected: str) -> None:
    got = errors_of(tmp_path, text)
    assert [error.replace(str(tmp_path) + "/", "") for error in got] == [expected]


def test_every_error_is_reported_not_just_the_first(tmp_path: Path) -> None:
    text = "sourcs: []\nsources:\n  - {name: A, kind: rss, url: x}\nchannels: []\n"
    got = [error.replace(str(tmp_path) + "/", "") for error in errors_of(tmp_path, text)]
    assert len(got) == 5, got
    assert got[0].startswith("monitor.yaml:1:1: unknown key 'sourcs'")


def test_secret_values_never_appear_in_errors(tmp_path: Path) -> None:
    got = errors_of(tmp_path, "channels:\n  team: ['not-a-url-${TOKEN}']\n", {"TOKEN": "canary-4711"})
    assert got
    assert all("canary-4711" not in error for error in got)


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("2h", 7200), (45, 45)])
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "HTTPS://www.Example.com:443/a/?utm_source=x&b=2&a=1&fbclid=z#top",
            "https://www.example.com/a/?a=1&b=2",
        ),
        ("https://example.com/a/../b/?gclid=1&id=7", "https://example.com/b/?id=7"),
        ("/news/1?utm_medium=rss", "https://example.com/news/1"),
    ],
)
def test_canonical_urls(url: str, canonical: str) -> None:
    assert canonical_url(url, base="https://example.com/") == canonical
