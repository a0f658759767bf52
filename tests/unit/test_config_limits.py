"""monitor.yaml refuses up front what would fail later (issue 11, sections 2 and 3).

Absurd durations (an ``OverflowError`` in the middle of a crawl), database URLs SQLAlchemy
cannot use, CSS selectors lxml cannot translate, link patterns RE2 cannot compile, channel
URLs apprise cannot use; and an error about a value expanded from ``${ENV}`` names the
variable, never the value.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.config.crawl import MAX_CRAWL_WAIT
from monitor.config.model import ConfigErrors, load_config
from monitor.config.values import MAX_DURATION, parse_duration
from monitor.crawl.runner import GRACE

CANARY = "s3cr3t-canary"


def errors_of(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigErrors) as caught:
        load_config(path, environ=environ or {}, check_channels=True)
    return [str(error).replace(str(tmp_path) + "/", "") for error in caught.value.errors]


def loads(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    load_config(path, environ=environ or {}, check_channels=True)


SOURCE = "sources:\n  - name: a\n    kind: listing\n    url: https://a.example/\n"

DURATIONS = [
    (
        "crawl:\n  timeout: 999999999999999d\n",
        "monitor.yaml:2:12: timeout: '999999999999999d' is longer than the maximum, 1w",
    ),
    ("crawl:\n  page_timeout: 8d\n", "monitor.yaml:2:17: page_timeout: '8d' is longer than the maximum, 1w"),
    (
        "crawl:\n  retry_after_max: 99999999999999999999999999h\n",
        "monitor.yaml:2:20: retry_after_max: '99999999999999999999999999h' is longer than the maximum, 1w",
    ),
    ("dispatch:\n  max_age: 11y\n", "monitor.yaml:2:12: max_age: '11y' is longer than the maximum, 10y"),
    (
        "dispatch:\n  lease: 999999999999999999999\n",
        "monitor.yaml:2:10: lease: 999999999999999999999 is longer than the maximum, 10y",
    ),
    ("dispatch:\n  every: 0\n", "monitor.yaml:2:10: every: a duration must be positive"),
    (
        SOURCE + "    schedule: {every: 522w}\n",
        "monitor.yaml:5:23: every: '522w' is longer than the maximum, 10y",
    ),
    (
        SOURCE + "    schedule: {every: 1h, jitter: 122mo}\n",
        "monitor.yaml:5:35: jitter: '122mo' is longer than the maximum, 10y",
    ),
    (
        SOURCE + "    max_interval: 3651d\n",
        "monitor.yaml:5:19: max_interval: '3651d' is longer than the maximum, 10y",
    ),
    (
        SOURCE + "    max_age: .inf\n",
        "monitor.yaml:5:14: max_age: inf is not a duration like 90s, 15m, 2h, 1d, 2w, 6mo or 1y",
    ),
    (
        "channels: {ops: ['json://127.0.0.1:9/']}\noperator: {channel: ops, min_silence: 99999999999y}\n",
        "monitor.yaml:2:39: min_silence: '99999999999y' is longer than the maximum, 10y",
    ),
]


@pytest.mark.parametrize(("text", "expected"), DURATIONS)
def test_absurd_durations_are_refused_with_their_maximum(tmp_path: Path, text: str, expected: str) -> None:
    assert errors_of(tmp_path, text) == [expected]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2w", 14 * 86400), ("6mo", 180 * 86400), ("1y", 365 * 86400), ("10y", MAX_DURATION), ("1m", 60)],
)
def test_weeks_months_and_years_are_units(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_the_maximum_is_a_parameter() -> None:
    assert parse_duration("20y", maximum=100 * 365 * 86400) == 20 * 365 * 86400
    with pytest.raises(ValueError, match=r"^'20y' is longer than the maximum, 10y$"):
        parse_duration("20y")


def test_the_crawl_maxima_fit_the_longest_wait_the_system_takes() -> None:
    """The parent waits for timeout + page_timeout + retry_after_max + GRACE: at the maxima,
    ``communicate`` must still accept it (30 days did not: "timeout is too large")."""
    process = subprocess.Popen([sys.executable, "-c", "pass"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.communicate(timeout=3 * MAX_CRAWL_WAIT + GRACE)
    assert process.returncode == 0


DATABASES = [
    (
        "database: 'nope://host/db'\n",
        "monitor.yaml:1:11: database URL names a database or driver SQLAlchemy does not know ('nope'); "
        "use sqlite:// or postgresql://",
    ),
    (
        "database: 'postgresql+nosuch://host/db'\n",
        "monitor.yaml:1:11: database URL names a database or driver SQLAlchemy does not know "
        "('postgresql+nosuch'); use sqlite:// or postgresql://",
    ),
    (
        "database: 'mysql://host/db'\n",
        "monitor.yaml:1:11: database URL is for mysql; monitor supports SQLite and PostgreSQL",
    ),
    (
        "database: 'postgresql+asyncpg://host/db'\n",
        "monitor.yaml:1:11: database URL names the asyncio driver asyncpg; use postgresql:// (psycopg 3)",
    ),
    (
        "database: 'postgresql+pg8000://host/db'\n",
        "monitor.yaml:1:11: database URL names the driver pg8000, which is not installed; "
        "use postgresql:// (psycopg 3)",
    ),
    (
        "database: 'postgresql://user:pw@host:port/db'\n",
        "monitor.yaml:1:11: database URL is not a SQLAlchemy URL like sqlite:///monitor.db or postgresql://user@host/db",
    ),
    (
        "database: '${DB_URL}'\n",
        "monitor.yaml:1:11: database URL (from ${DB_URL}) names a database or driver "
        "SQLAlchemy does not know; use sqlite:// or postgresql://",
    ),
    (
        "database: 'postgresql://monitor:${DB_PASSWORD}@db:54x32/monitor'\n",
        "monitor.yaml:1:11: database URL (from ${DB_PASSWORD}) is not a SQLAlchemy URL like "
        "sqlite:///monitor.db or postgresql://user@host/db",
    ),
]


@pytest.mark.parametrize(("text", "expected"), DATABASES)
def test_broken_database_urls_are_refused(tmp_path: Path, text: str, expected: str) -> None:
    environ = {"DB_URL": "nosuchdb://host/db", "DB_PASSWORD": CANARY}
    assert errors_of(tmp_path, text, environ) == [expected]


def test_a_broken_monitor_database_url_is_refused_without_its_value(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ConfigErrors) as caught:
        load_config(path, environ={"MONITOR_DATABASE_URL": f"postgresql://u:{CANARY}@h:x/db"})
    assert str(caught.value) == (
        "database URL (from MONITOR_DATABASE_URL) is not a SQLAlchemy URL like "
        "sqlite:///monitor.db or postgresql://user@host/db"
    )


@pytest.mark.parametrize(
    "url", ["sqlite:///monitor.db", "sqlite://", "postgresql://u@h/db", "postgresql+psycopg://u:p@h:5433/db"]
)
def test_usable_database_urls_load(tmp_path: Path, url: str) -> None:
    loads(tmp_path, f"database: '{url}'\n")


SELECTORS = [
    (
        SOURCE + "    selectors:\n      title: 'h1 >'\n",
        "monitor.yaml:6:14: selectors.title: 'h1 >' is not a CSS selector lxml can use "
        "(Expected selector, got <EOF at 4>)",
    ),
    (
        SOURCE + "    selectors:\n      title: h1\n      body: 'div.article::text'\n",
        "monitor.yaml:7:13: selectors.body: 'div.article::text' is not a CSS selector lxml can use "
        "(Pseudo-elements are not supported.)",
    ),
    (
        SOURCE + "    selectors: {published_at: 'time[datetime'}\n",
        "monitor.yaml:5:31: selectors.published_at: 'time[datetime' is not a CSS selector lxml can use "
        "(Operator expected, got <EOF at 13>)",
    ),
]


@pytest.mark.parametrize(("text", "expected"), SELECTORS)
def test_invalid_css_selectors_are_refused_at_their_own_position(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert errors_of(tmp_path, text) == [expected]


def test_valid_css_selectors_load(tmp_path: Path) -> None:
    text = (
        SOURCE
        + "    selectors: {title: 'h1.headline', authors: 'a[rel=author]',"
        + " body: 'article > p:nth-child(n+2)'}\n"
    )
    loads(tmp_path, text)


RE2_HINT = "link patterns are RE2 regular expressions: no backreferences or lookaround"
PATTERNS = [
    (
        SOURCE + "    follow: ['/news/', '(a)\\1']\n",
        "monitor.yaml:5:24: follow pattern '(a)\\\\1' is not RE2 syntax "
        f"(invalid escape sequence: \\1); {RE2_HINT}",
    ),
    (
        SOURCE + "    deny:\n      - '/(?!news)'\n",
        "monitor.yaml:6:9: deny pattern '/(?!news)' is not RE2 syntax "
        f"(invalid perl operator: (?!); {RE2_HINT}",
    ),
    (
        SOURCE + "    follow: '['\n",
        f"monitor.yaml:5:13: follow pattern '[' is not RE2 syntax (missing ]: [); {RE2_HINT}",
    ),
]


@pytest.mark.parametrize(("text", "expected"), PATTERNS)
def test_link_patterns_must_be_re2(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    assert errors_of(tmp_path, text) == [expected]
    assert capfd.readouterr().err == ""  # RE2 logs its parse errors to stderr unless told not to


def test_patterns_that_backtrack_in_python_are_fine_in_re2(tmp_path: Path) -> None:
    loads(tmp_path, SOURCE + "    follow: ['(a+)+$', '/industry/\\d{4}/', '(?P<year>\\d{4})/']\n")


CHANNELS = [
    (
        "channels:\n  team: ['json://127.0.0.1:9/', 'foo://bar']\n",
        "monitor.yaml:2:33: channel 'team' URL #2 is not an apprise URL: "
        "apprise has no service for its scheme 'foo'",
    ),
    (
        "channels:\n  team: ['slack://abc']\n",
        "monitor.yaml:2:10: channel 'team' URL #1 is not a slack:// URL apprise can use "
        "(a token, user or host is missing or malformed)",
    ),
    (
        "channels:\n  team: ['${SLACK_URL}']\n",
        "monitor.yaml:2:10: channel 'team' URL #1 (from ${SLACK_URL}) is not a slack:// URL apprise can use "
        "(a token, user or host is missing or malformed)",
    ),
    (
        "channels:\n  team:\n    urls: ['mailto://bot:${SMTP_PASSWORD}@']\n",
        "monitor.yaml:3:12: channel 'team' URL #1 (from ${SMTP_PASSWORD}) is not a mailto:// URL "
        "apprise can use (a token, user or host is missing or malformed)",
    ),
    (
        "channels:\n  team: ['${ODD_URL}']\n",
        "monitor.yaml:2:10: channel 'team' URL #1 (from ${ODD_URL}) is not an apprise URL: "
        "apprise has no service for its scheme",
    ),
    (
        "channels:\n  team: ['${TOKEN}']\n",
        "monitor.yaml:2:10: channel 'team' URL #1 (from ${TOKEN}) is not an apprise URL (no '://')",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CHANNELS)
def test_channel_urls_apprise_cannot_use_are_refused(tmp_path: Path, text: str, expected: str) -> None:
    environ = {
        "SLACK_URL": f"slack://{CANARY}",
        "SMTP_PASSWORD": CANARY,
        "ODD_URL": f"{CANARY}://host",
        "TOKEN": CANARY,
    }
    assert errors_of(tmp_path, text, environ) == [expected]


def test_usable_channel_urls_load(tmp_path: Path) -> None:
    text = (
        "channels:\n  team: ['json://127.0.0.1:9/hook', 'console://', 'mailtos://bot:${SMTP_PASSWORD}@smtp.example.com',"
        " 'ntfy://alerts', '${OPTIONAL:-}']\n"
    )
    loads(tmp_path, text, {"SMTP_PASSWORD": CANARY})


def test_processes_that_never_send_skip_apprise(tmp_path: Path) -> None:
    """Crawl children and ingest workers read a file the command already checked."""
    path = tmp_path / "monitor.yaml"
    path.write_text("channels:\n  team: ['foo://bar']\n", encoding="utf-8")
    assert load_config(path, environ={}).channels == {"team": ("foo://bar",)}


SECRET_PLACES = [
    (
        "templates: '${TEMPLATES}/mail'\n",
        "monitor.yaml:1:12: templates folder (from ${TEMPLATES}) does not exist",
    ),
    (
        SOURCE.replace("https://a.example/", "'${FEED_URL}'"),
        "monitor.yaml:4:10: source url (from ${FEED_URL}) must start with http:// or https://",
    ),
]


@pytest.mark.parametrize(("text", "expected"), SECRET_PLACES)
def test_values_from_the_environment_are_named_not_echoed(tmp_path: Path, text: str, expected: str) -> None:
    environ = {"TEMPLATES": f"/srv/{CANARY}", "FEED_URL": f"ftp://user:{CANARY}@feeds.example/"}
    assert errors_of(tmp_path, text, environ) == [expected]


def test_values_written_in_the_file_are_still_quoted(tmp_path: Path) -> None:
    got = errors_of(tmp_path, "templates: no-such-folder\n")
    assert got == ["monitor.yaml:1:12: templates folder 'no-such-folder' does not exist"]


def test_monitor_check_never_prints_the_canary_but_names_its_variable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The canary in a channel URL, the database URL, a path and a source URL: all wrong."""
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "database: 'postgresql://monitor:${CANARY}@db:54x32/monitor'\n"
        "templates: '${CANARY}/templates'\n"
        "rules: []\n"
        "sources:\n"
        "  - {name: a, kind: feed, url: 'ftp://feeds:${CANARY}@a.example/'}\n"
        "channels:\n"
        "  team: ['slack://${CANARY}', 'mailto://bot:${CANARY}@', '${CANARY_URL}', '${CANARY}']\n",
        encoding="utf-8",
    )
    env = {"CANARY": CANARY, "CANARY_URL": f"{CANARY}://x", "MONITOR_CONFIG": str(config)}
    caplog.set_level("DEBUG")
    result = CliRunner(env=env).invoke(main, ["-vv", "check"])
    output = result.stdout + result.stderr
    assert result.exit_code == 1, output
    assert CANARY not in output
    assert CANARY not in caplog.text
    lines = [line.replace(str(tmp_path) + "/", "") for line in result.stderr.splitlines()]
    assert lines[:-1] == [
        "monitor.yaml:1:11: database URL (from ${CANARY}) is not a SQLAlchemy URL like sqlite:///monitor.db "
        "or postgresql://user@host/db",
        "monitor.yaml:5:32: source url (from ${CANARY}) must start with http:// or https://",
        "monitor.yaml:7:10: channel 'team' URL #1 (from ${CANARY}) is not a slack:// URL apprise can use "
        "(a token, user or host is missing or malformed)",
        "monitor.yaml:7:31: channel 'team' URL #2 (from ${CANARY}) is not a mailto:// URL apprise can use "
        "(a token, user or host is missing or malformed)",
        "monitor.yaml:7:58: channel 'team' URL #3 (from ${CANARY_URL}) is not an apprise URL: "
        "apprise has no service for its scheme",
        "monitor.yaml:7:75: channel 'team' URL #4 (from ${CANARY}) is not an apprise URL (no '://')",
        "monitor.yaml:2:12: templates folder (from ${CANARY}) does not exist",
    ]


def test_any_command_refuses_a_channel_url_apprise_cannot_use(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text("rules: []\nchannels:\n  team: ['foo://bar']\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "crawl", "--no-dispatch"])
    assert result.exit_code == 1
    assert result.stderr.replace(str(tmp_path) + "/", "") == (
        "Error: monitor.yaml:3:10: channel 'team' URL #1 is not an apprise URL: "
        "apprise has no service for its scheme 'foo'\n"
    )


@pytest.mark.parametrize(
    ("text", "start"),
    [
        (
            "sources:\n  - {name: 'A" + "x" * 100_000 + "', kind: feed, url: 'https://a/'}\n",
            "monitor.yaml:2:12: source name 'Ax",
        ),
        (
            "sources:\n  - {name: a, kind: '" + "r" * 100_000 + "', url: 'https://a/'}\n",
            "monitor.yaml:2:21: unknown source kind 'rr",
        ),
        ("timezone: '" + "Z" * 100_000 + "'\n", "monitor.yaml:1:11: timezone: unknown time zone 'ZZ"),
        (
            "channels:\n  team: {urls: ['json://h/'], timezone: '" + "Z" * 100_000 + "'}\n",
            "monitor.yaml:2:41: channel 'team' timezone: unknown time zone 'ZZ",
        ),
        ("crawl: {max_page_size: '" + "9" * 100_000 + "XB'}\n", "monitor.yaml:1:24: max_page_size: '99"),
        ("dispatch: {every: '" + "9" * 100_000 + "'}\n", "monitor.yaml:1:19: every: '99"),
        (
            "sources:\n  - {name: a, kind: feed, url: 'https://a/', schedule: {cron: '"
            + "x" * 100_000
            + " * * * *'}}\n",
            'monitor.yaml:2:63: cron: Unrecognized expression "xx',
        ),
        (
            "channels:\n  team: {urls: ['json://h/'], quiet_hours: '" + "2" * 100_000 + "'}\n",
            "monitor.yaml:2:44: channel",
        ),
    ],
)
def test_errors_quote_a_huge_value_capped(tmp_path: Path, text: str, start: str) -> None:
    """An error must not echo a 100,000-character value whole (``monitor.errors.quoted``)."""
    (error,) = errors_of(tmp_path, text)
    assert error.startswith(start)
    assert len(error) < 300, error[:400]
