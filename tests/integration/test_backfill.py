"""`monitor backfill`: a rule over the stored archive, dry by default, alerting with --notify."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.article import Article
from monitor.cli import main
from monitor.parse import parse_file
from monitor.store.database import Database, counts, save_article

ROOT = Path(__file__).parents[2]
# The seed story as the demo site serves it: the repository's own copy, so no test needs ../shared.
SEED = parse_file(
    ROOT / "monitor/demo/site/autoguide/2010/04/daimler-renault-team-up-for-small-car-alliance.html"
).body
NEAR_MISS = (
    "Renault's Formula 1 team scored a podium in Melbourne. Robert Kubica finished ahead of the "
    "Mercedes GP cars of Nico Rosberg and Michael Schumacher, a result the Enstone team called a "
    "breakthrough for its new partnership with a Luxembourg investment group."
)


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"rules: [{ROOT / 'rules'}]\nchannels:\n  alerts: ['json://127.0.0.1:9/unused']\n", encoding="utf-8"
    )
    return config


def store(config: Path) -> None:
    with (
        Database.open(f"sqlite:///{config.parent / 'monitor.db'}") as database,
        database.transaction() as session,
    ):
        for url, title, body, day in [
            ("https://autoguide.example/a", "Daimler, Renault Team Up for Small Car Alliance", SEED, 6),
            ("https://autoguide.example/f1", "Kubica gives Renault F1 team a podium", NEAR_MISS, 7),
            ("https://wire.example/b", "Daimler and Renault to form alliance", SEED[200:], 8),
        ]:
            published = datetime(2010, 4, day, 12, tzinfo=UTC)
            article = Article(url=url, canonical_url=url, title=title, body=body, published_at=published)
            save_article(session, article, datetime(2010, 4, day, 13, tzinfo=UTC))


def test_backfill_prints_hits_per_day_and_sends_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    store(config)
    result = CliRunner().invoke(
        main, ["--config", str(config), "backfill", "daimler-renault-alliance", "--since", "2010-04-01"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "2010-04-06  1",
        "    Daimler, Renault Team Up for Small Car Alliance  https://autoguide.example/a",
        "2010-04-08  1",
        "    Daimler and Renault to form alliance  https://wire.example/b",
        "2 hit(s) in 3 stored article(s) since 2010-04-01 00:00 UTC; nothing sent",
    ]
    database = Database.open(f"sqlite:///{tmp_path / 'monitor.db'}")
    with database.transaction() as session:
        assert counts(session).matches == 0
    database.close()


def test_backfill_since_limits_the_window_and_notify_queues_one_alert_per_story(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    store(config)
    args = ["--config", str(config), "backfill", "daimler-renault-alliance", "--since", "2010-04-07"]
    dry = CliRunner().invoke(main, args)
    assert dry.stdout.splitlines()[-1].startswith("1 hit(s) in 2 stored article(s) since 2010-04-07")
    everything = [
        "--config",
        str(config),
        "backfill",
        "daimler-renault-alliance",
        "--since",
        "2010-01-01",
        "--notify",
    ]
    result = CliRunner().invoke(main, everything)
    assert result.exit_code == 0, result.output
    # Two hits, one story: one alert queued; the json:// target is unreachable, so it waits to retry.
    assert "1 alert(s) queued, 0 sent, 0 failed" in result.stdout


def test_backfill_names_the_closest_rule(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(write_config(tmp_path)), "backfill", "daimler-renaul"])
    assert result.exit_code == 1
    assert "no rule named 'daimler-renaul' (did you mean 'daimler-renault-alliance'?)" in result.stderr


def store_relative(config: Path) -> None:
    """The seed story three times, published 15 years, 100 days and 3 days ago."""
    database = Database.open(f"sqlite:///{config.parent / 'monitor.db'}")
    now = datetime.now(UTC)
    try:
        with database.transaction() as session:
            for url, days in [
                ("https://a.example/old", 15 * 365),
                ("https://b.example/mid", 100),
                ("https://c.example/new", 3),
            ]:
                published = now - timedelta(days=days)
                title = f"Daimler, Renault Team Up ({days} days ago)"
                article = Article(url=url, canonical_url=url, title=title, body=SEED, published_at=published)
                save_article(session, article, published)
    finally:
        database.close()


@pytest.mark.parametrize(
    ("since", "hits"), [("20y", 3), ("1y", 2), ("6mo", 2), ("2w", 1), ("30d", 1), ("48h", 0)]
)
def test_backfill_since_takes_weeks_months_and_years(tmp_path: Path, since: str, hits: int) -> None:
    config = write_config(tmp_path)
    store_relative(config)
    seconds = {"y": 365 * 86400, "mo": 30 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600}
    unit = since.lstrip("0123456789")
    before = datetime.now(UTC) - timedelta(seconds=int(since[: -len(unit)]) * seconds[unit])
    result = CliRunner().invoke(
        main, ["--config", str(config), "backfill", "daimler-renault-alliance", "--since", since]
    )
    after = datetime.now(UTC) - timedelta(seconds=int(since[: -len(unit)]) * seconds[unit])
    assert result.exit_code == 0, result.output
    starts = {f"{moment:%Y-%m-%d %H:%M}" for moment in (before, after)}
    last = result.stdout.splitlines()[-1]
    assert any(
        last == f"{hits} hit(s) in {hits} stored article(s) since {start} UTC; nothing sent"
        for start in starts
    ), last


@pytest.mark.parametrize(
    ("since", "message"),
    [
        ("99999999999d", "'99999999999d' is longer than the maximum, 100y"),
        ("101y", "'101y' is longer than the maximum, 100y"),
        ("9" * 5000 + "d", "is longer than the maximum, 100y"),
        ("0d", "a duration must be positive"),
        ("3x", "'3x' is not a duration like 90s, 15m, 2h, 1d, 2w, 6mo or 1y"),
        (
            "last week",
            "'last week' is neither a duration like 90s, 15m, 2h, 1d, 2w, 6mo or 1y (at most 100y) "
            "nor a date like 2026-11-01",
        ),
    ],
    ids=["days-overflow", "101-years", "5000-digits", "zero", "unknown-unit", "words"],
)
def test_backfill_since_out_of_range_is_a_usage_error(tmp_path: Path, since: str, message: str) -> None:
    config = write_config(tmp_path)
    result = CliRunner().invoke(
        main, ["--config", str(config), "backfill", "daimler-renault-alliance", "--since", since]
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Error: Invalid value for '--since': " in result.stderr
    assert message in result.stderr
    assert len(result.stderr) < 600  # the 5,000-digit value is not echoed whole


def test_backfill_help_documents_the_units() -> None:
    result = CliRunner().invoke(main, ["backfill", "--help"])
    text = " ".join(result.stdout.split())
    assert "s, m (minutes), h, d, w, mo (30 d) or y (365 d)" in text
    assert "(at most 100y)" in text
