"""The outbox from the command line, channel configuration, and the secret canary.

A canary token and password sit in a channel URL (through ``${ENV}``); the test drives every
alert command, with debug logging, against a receiver that fails and then accepts, and
checks that the canary shows up nowhere: not in standard output or error, not in any log
record (apprise logs URLs at debug level), not in the database, not in config errors.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from webhooksink import WebhookSink

from monitor.article import Article
from monitor.cli import main
from monitor.config.channels import Channel, parse_quiet_hours
from monitor.config.model import ConfigErrors, load_config
from monitor.demo.smtpsink import SmtpSink
from monitor.store.database import Database, save_article, save_match
from monitor.store.models import AlertRow

TOKEN = "canary-tok-7f3e9a1c5b"
PASSWORD = "canary-pw-55aa11"
ENV = {"HOOK_TOKEN": TOKEN, "HOOK_PASSWORD": PASSWORD}
NOW = datetime.now(UTC) - timedelta(minutes=5)  # the CLI compares alert ages with the real now


def write_config(tmp_path: Path, channels: str, extra: str = "") -> Path:
    (tmp_path / "rules").mkdir(exist_ok=True)
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"database: sqlite:///monitor.db\nrules: [rules]\n{extra}channels:\n{channels}", encoding="utf-8"
    )
    return config


def seed(config: Path, count: int = 1, channel: str = "team", rule: str = "alliance") -> None:
    with (
        Database.open(load_config(config, environ=ENV).database_url) as database,
        database.transaction() as session,
    ):
        for index in range(count):
            url = f"https://news.example/{rule}/{index}"
            article = Article(
                url=url, canonical_url=url, title=f"Daimler and Renault {index}", body="In brief."
            )
            row = save_article(session, article, NOW)
            assert row is not None
            save_match(session, row, rule, ["Daimler"], "**Daimler**", [channel], NOW)


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, ["-vv", "--config", str(config), *args], env=ENV, catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def hook_channel(hook: WebhookSink) -> str:
    url = f"json://bot:${{HOOK_PASSWORD}}@127.0.0.1:{hook.port}/hooks/${{HOOK_TOKEN}}?rto=1&cto=1"
    return f"  team:\n    urls: ['{url}']\n    timezone: Europe/Berlin\n"


def test_the_canary_never_leaks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    with WebhookSink(script=["500", "500"]) as hook:
        config = write_config(tmp_path, hook_channel(hook), "dispatch: {max_attempts: 1}\n")
        seed(config)
        for args, code in [
            (("notify-test", "team"), 1),  # the receiver answers 500
            (("alerts", "send"), 0),  # 500 again: failed (max_attempts 1)
            (("alerts", "--status", "failed"), 0),
            (("alerts", "show", "1"), 0),
            (("alerts", "retry"), 0),  # now accepted
            (("notify-test", "team"), 0),
            (("check", str(config)), 0),
        ]:
            exit_code, out, err = run(config, *args)
            assert exit_code == code, (args, out, err)
            seen += [out, err]
        assert len(hook.accepted) == 2
        assert hook.requests[0].path == f"/hooks/{TOKEN}"  # the secret did reach the receiver
    with Database(load_config(config, environ=ENV).database_url).engine.connect() as connection:
        seen += [repr(row) for row in connection.execute(text("SELECT * FROM alerts"))]
    (tmp_path / "bad").mkdir()
    bad = write_config(tmp_path / "bad", "  team: ['x${HOOK_TOKEN}']\n")
    with pytest.raises(ConfigErrors) as error:
        load_config(bad, environ=ENV)
    seen.append(str(error.value))
    assert "JSON POST URL" in caplog.text  # apprise did log the URL at debug level ...
    everything = "\n".join([*seen, caplog.text, *(record.getMessage() for record in caplog.records)])
    assert TOKEN not in everything  # ... with the secrets masked
    assert PASSWORD not in everything
    assert "channel 'team' #1 (json): FAILED" in "\n".join(seen)


def test_the_canary_never_leaks_from_a_real_process(tmp_path: Path) -> None:
    with WebhookSink(script=["500"]) as hook:
        config = write_config(tmp_path, hook_channel(hook))
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}, **ENV}
        result = subprocess.run(
            [sys.executable, "-m", "monitor", "-vv", "--config", str(config), "notify-test", "team"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert "JSON POST URL" in result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert PASSWORD not in result.stdout + result.stderr


def test_notify_test_sends_a_sample_through_the_alert_path(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    config = write_config(
        tmp_path, f"  team:\n    urls: ['{smtp_sink.mailto()}']\n    timezone: Asia/Tokyo\n"
    )
    code, out, _ = run(config, "notify-test", "team")
    assert (code, out) == (0, "channel 'team' #1 (mailto): sent\n")
    [mail] = smtp_sink.messages
    assert mail["Subject"] == "[notify-test] Daimler, Renault Team Up for Small Car Alliance"
    assert "2010-04-07 02:30 JST" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    code, _, err = run(config, "notify-test", "teem")
    assert code == 1
    assert "no channel 'teem' (did you mean 'team'?)" in err


def test_failed_alerts_are_listed_and_retried(tmp_path: Path) -> None:
    with WebhookSink(script=["500"] * 2) as hook:
        config = write_config(tmp_path, hook_channel(hook), "dispatch: {max_attempts: 1}\n")
        seed(config, 2)
        code, out, _ = run(config, "alerts", "send")
        assert out == "alerts: 0 sent, 0 retrying, 2 failed\n"
        code, out, _ = run(config, "alerts", "--status", "failed")
        assert code == 0
        assert out.count("failed") == 2
        assert "last error: channel 'team' #1 (json): Failed to send JSON POST notification" in out
        code, out, _ = run(config, "alerts", "retry")
        assert out == "2 failed alert(s) queued again\nalerts: 2 sent, 0 retrying, 0 failed\n"
        code, out, _ = run(config, "alerts", "--status", "failed")
        assert out == "no alerts with status failed\n"
        code, out, _ = run(config, "alerts", "show", "2")
        assert "alert #2: sent" in out
        assert "after 2 attempt(s)" in out  # the failed one and the retried one: history kept
        assert "channel 'team' #1 (json): delivered" in out
        assert "[alliance] Daimler and Renault 1" in out


def test_a_retried_alert_gets_a_new_budget_of_attempts(tmp_path: Path) -> None:
    with WebhookSink(script=["500"] * 3) as hook:
        config = write_config(tmp_path, hook_channel(hook), "dispatch: {max_attempts: 1}\n")
        seed(config, 1)
        run(config, "alerts", "send")  # fails: out of attempts at once
        run(config, "alerts", "retry")  # fails again: its one new attempt
        _, out, _ = run(config, "alerts", "show", "1")
        assert "alert #1: failed" in out
        assert "after 2 attempt(s)" in out
        _, out, _ = run(config, "alerts", "retry")  # one more budget, one more failure
        _, out, _ = run(config, "alerts", "retry")  # and this time it goes through
        assert out.endswith("alerts: 1 sent, 0 retrying, 0 failed\n")
        _, out, _ = run(config, "alerts", "show", "1")
        assert "after 4 attempt(s)" in out


def test_rule_modes_come_from_the_rule_files(tmp_path: Path) -> None:
    with WebhookSink() as hook:
        config = write_config(tmp_path, hook_channel(hook))
        (tmp_path / "rules" / "r.yaml").write_text(
            "rules:\n"
            "  - name: alliance\n    query: Daimler\n    mode: daily\n    schedule: '30 7 * * 1-5'\n"
            "  - name: noisy\n    query: Renault\n    max_per_hour: 1\n",
            encoding="utf-8",
        )
        seed(config)
        seed(config, 2, rule="noisy")
        code, out, _ = run(config, "alerts", "send")
        assert out == "alerts: 1 sent, 0 retrying, 0 failed, 2 held for digests\n"
        code, out, _ = run(config, "alerts")
        assert code == 0
        assert (
            "alliance -> team  Daimler and Renault 0  (attempts 0)  [held for digest '30 7 * * 1-5']" in out
        )
        assert "noisy -> team  Daimler and Renault 1  (attempts 0)  [held for digest '0 * * * *']" in out
        assert [body["title"] for body in hook.accepted] == ["[noisy] Daimler and Renault 0"]


def test_rule_delivery_keys_are_checked(tmp_path: Path) -> None:
    config = write_config(tmp_path, "  team: ['console://']\n")
    (tmp_path / "rules" / "r.yaml").write_text(
        "rules:\n"
        "  - name: a\n    query: Daimler\n    max_per_hour: 0\n"
        "  - name: b\n    query: Daimler\n    schedule: '30 7 * * 1-5'\n"
        "  - name: c\n    query: Daimler\n    mode: daily\n    schedule: 'at dawn'\n",
        encoding="utf-8",
    )
    code, _, err = run(config, "check", str(tmp_path / "rules"))
    assert code == 1
    assert "r.yaml:4:19: max_per_hour must be a whole number of at least 1, got 0" in err
    assert "r.yaml:7:15: schedule needs a digest mode: hourly, daily or weekly" in err
    assert "r.yaml:11:15: schedule: Wrong number of fields; got 2, expected 5" in err


# -- configuration ------------------------------------------------------------------------------


def test_channels_short_and_long_forms(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "  alerts: ['console://']\n"
        "  team:\n"
        "    urls: ['json://127.0.0.1/${HOOK_TOKEN}', '${UNSET:-}']\n"
        "    timezone: Europe/Berlin\n"
        "    quiet_hours: '22:00-07:00'\n"
        "    digest: '30 7 * * 1-5'\n",
        "templates: .\n",
    )
    loaded = load_config(config, environ=ENV)
    assert loaded.channels == {"alerts": ("console://",), "team": (f"json://127.0.0.1/{TOKEN}",)}
    assert loaded.channel_settings == {
        "team": Channel(
            urls=(f"json://127.0.0.1/{TOKEN}",),  # the long form's own list, as `channels` has it
            timezone="Europe/Berlin",
            quiet_hours=parse_quiet_hours("22:00-07:00"),
            digest="30 7 * * 1-5",
        )
    }
    assert loaded.templates == tmp_path


def test_channel_errors_point_at_the_entry(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "  team:\n"
        "    urls: ['console://']\n"
        "    timezone: Mars/Olympus\n"
        "    quiet_hours: 'after dark'\n"
        "    digest: 'every morning'\n"
        "    quiet: yes\n",
        "dispatch: {lease: soon}\n",
    )
    with pytest.raises(ConfigErrors) as errors:
        load_config(config, environ=ENV)
    messages = [str(error) for error in errors.value.errors]
    assert f"{config}:3:19: lease: 'soon' is not a duration like 90s, 15m, 2h, 1d, 2w, 6mo or 1y" in messages
    assert f"{config}:7:15: channel 'team' timezone: unknown time zone 'Mars/Olympus'" in messages
    assert (
        f"{config}:8:18: channel 'team' quiet_hours: 'after dark' is not a span like 22:00-07:00" in messages
    )
    assert f"{config}:9:13: channel 'team' digest: Wrong number of fields; got 2, expected 5" in messages
    assert any(
        message.startswith(f"{config}:10:5: unknown key 'quiet' in channel 'team'") for message in messages
    )


def test_an_apprise_config_file_adds_urls_to_its_tags(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    (tmp_path / "apprise.yml").write_text(
        "version: 1\nurls:\n"
        f"  - json://127.0.0.1:9/hooks/${{HOOK_TOKEN}}:\n      - tag: team, desk\n"
        f"  - '{smtp_sink.mailto()}':\n      - tag: team\n",
        encoding="utf-8",
    )
    config = write_config(tmp_path, "  team: ['console://']\n", "apprise: apprise.yml\n")
    loaded = load_config(config, environ=ENV)
    assert loaded.channels["team"][0] == "console://"
    assert len(loaded.channels["team"]) == 3
    assert TOKEN in loaded.channels["desk"][0]
    assert loaded.channels["team"][2].startswith("mailto://")


def test_a_missing_apprise_file_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, "  team: ['console://']\n", "apprise: nowhere.yml\n")
    with pytest.raises(ConfigErrors, match=r"monitor.yaml:3:10: cannot read apprise config"):
        load_config(config, environ=ENV)


def test_alert_rows_keep_no_url(tmp_path: Path) -> None:
    with WebhookSink() as hook:
        config = write_config(tmp_path, hook_channel(hook))
        seed(config)
        run(config, "alerts", "send")
    database = Database.open(load_config(config, environ=ENV).database_url)
    with database.transaction() as session:
        alert = session.scalars(select(AlertRow)).one()
        assert alert.status == "sent"
        assert all(len(key) == 16 and "/" not in key for key in alert.delivered)
    database.close()


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        ("json://bot:pw-secret@127.0.0.1:8080/hooks/tok-7f3e9a1c5b?rto=1", {"pw-secret", "tok-7f3e9a1c5b"}),
        ("slack://T1234ABCD/B5678EFGH/abcdefghij1234567890ABCD/#general", {"T1234ABCD", "B5678EFGH"}),
        ("ntfy://ntfy.example/alerts-topic?token=tk_abc", {"tk_abc"}),
        ("mailto://127.0.0.1:25?from=monitor@localhost&to=desk@news.example&format=markdown", set()),
        ("json://host.example/api/v1/notifications", set()),
    ],
)
def test_what_counts_as_a_secret_in_a_url(url: str, secrets: set[str]) -> None:
    from monitor.redact import url_secrets

    assert secrets <= url_secrets(url)
    assert not {"notifications", "markdown", "monitor@localhost", "127.0.0.1", "hooks"} & url_secrets(url)
