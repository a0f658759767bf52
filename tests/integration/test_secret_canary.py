"""The secret canary in every form a channel URL can carry it (issue 11, section 3, item 1).

One channel URL per form holds ``s3cr3t-canary``: as the password of an URL with and
without ``//`` after the scheme, as a token in the path (webhook, Discord and Telegram
style), and as the value of ``?pass=``, ``?token=``, ``?key=`` and ``?secret=``. Each target
fails for real: a webhook receiver on 127.0.0.1 that answers 500, a refused port on
127.0.0.1 for SMTP, and a refused proxy on 127.0.0.1 for the services apprise reaches over
HTTPS (so nothing leaves loopback). ``notify-test``, ``alerts send``, ``alerts --status
failed`` and ``alerts show`` run with debug logging; the canary must appear in none of
their output, in no log record, and in no column of the alerts table. An URL without
``//`` after its scheme is refused by the config without being echoed; below the config,
``notify-test``'s probe and the dispatcher name such a target by its scheme alone, and
``alerts`` masks an URL that an older version stored in ``last_error``.
"""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update
from webhooksink import WebhookSink

from monitor.article import Article
from monitor.cli import main
from monitor.config.model import load_config
from monitor.notify import Dispatcher
from monitor.notify.probe import probe_channel
from monitor.notify.render import default_templates
from monitor.store.database import Database, save_article, save_match
from monitor.store.models import AlertRow

CANARY = "s3cr3t-canary"
NOW = datetime.now(UTC) - timedelta(minutes=5)  # the CLI compares alert ages with the real now
HOOK = "json://127.0.0.1:{hook}/hooks"
MAIL = "127.0.0.1:{refused}?from=monitor@localhost&to=desk@news.example"
# No "//" after the scheme, and a "://" further on (here in a query value): the target label
# cut the URL at that "://" and printed all of it before, password included.
NO_SLASHES = "mailto:user:{secret}@" + MAIL + "&name=see-https://news.example/"

# (form, channel URL, the scheme its label shows); {secret} is the canary or ${CANARY_ENV}.
FORMS = [
    ("mailto, password", "mailto://user:{secret}@" + MAIL, "mailto"),
    ("webhook, token in the path", HOOK + "/{secret}", "json"),
    ("webhook, ?pass=", HOOK + "?pass={secret}", "json"),
    ("webhook, ?token=", HOOK + "?token={secret}", "json"),
    ("webhook, ?key=", HOOK + "?key={secret}", "json"),
    ("webhook, ?secret=", HOOK + "?secret={secret}", "json"),
    ("discord, token in the path", "discord://1234567890/{secret}", "discord"),
    ("telegram, token as user:port", "tgram://123456789:{secret}/1234", "tgram"),
]


def refused_port() -> int:
    """A port on 127.0.0.1 that nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seed(config: Path, environ: dict[str, str]) -> None:
    with (
        Database.open(load_config(config, environ=environ).database_url) as database,
        database.transaction() as session,
    ):
        url = "https://news.example/alliance"
        row = save_article(
            session,
            Article(url=url, canonical_url=url, title="Daimler and Renault", body="In brief."),
            NOW,
        )
        assert row is not None
        save_match(session, row, "alliance", ["Daimler"], "**Daimler**", ["team"], NOW)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("via_env", [False, True], ids=["literal", "env"])
@pytest.mark.parametrize(("form", "template", "scheme"), FORMS, ids=[form for form, _, _ in FORMS])
def test_the_canary_never_leaks(
    form: str, template: str, scheme: str, via_env: bool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    proxy = f"http://127.0.0.1:{refused_port()}"
    environ = {"CANARY_ENV": CANARY}
    env: dict[str, str | None] = {
        **environ,
        **dict.fromkeys(("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"), proxy),
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
    }
    seen: list[str] = []
    with WebhookSink(script=["500"] * 4) as hook:
        secret = "${CANARY_ENV}" if via_env else CANARY
        url = template.format(secret=secret, hook=hook.port, refused=refused_port())
        (tmp_path / "rules").mkdir()
        config = tmp_path / "monitor.yaml"
        config.write_text(
            "database: sqlite:///monitor.db\nrules: [rules]\ndispatch: {max_attempts: 1}\n"
            f"channels:\n  team: ['{url}']\n",
            encoding="utf-8",
        )
        seed(config, environ)
        for args, code in [
            (("notify-test", "team"), 1),
            (("alerts", "send"), 0),  # fails: max_attempts 1
            (("alerts", "--status", "failed"), 0),
            (("alerts", "show", "1"), 0),
        ]:
            result = CliRunner().invoke(main, ["-vv", "--config", str(config), *args], env=env)
            assert result.exit_code == code, (args, result.output)
            seen += [result.stdout, result.stderr]
        if scheme == "json":
            assert hook.requests, "the webhook target was not tried"
    with Database(load_config(config, environ=environ).database_url).engine.connect() as connection:
        rows = [repr(row) for row in connection.execute(text("SELECT * FROM alerts"))]
    printed = "\n".join(seen)
    assert f"channel 'team' #1 ({scheme}): FAILED" in printed, printed
    assert "alerts: 0 sent, 0 retrying, 1 failed" in printed
    assert f"last error: channel 'team' #1 ({scheme}): " in printed
    everything = "\n".join([printed, *rows, caplog.text, *(record.getMessage() for record in caplog.records)])
    assert CANARY not in everything


@pytest.mark.parametrize("via_env", [False, True], ids=["literal", "env"])
@pytest.mark.parametrize(
    "template", [NO_SLASHES, "mailto:user:{secret}@" + MAIL], ids=["with a later ://", "no :// at all"]
)
def test_urls_without_slashes_are_refused_without_echoing_them(
    template: str, via_env: bool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = template.format(secret="${CANARY_ENV}" if via_env else CANARY, refused=refused_port())
    (tmp_path / "rules").mkdir()
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"database: sqlite:///monitor.db\nrules: [rules]\nchannels:\n  team: ['{url}']\n", encoding="utf-8"
    )
    seen = []
    for args in [("notify-test", "team"), ("alerts", "send"), ("check", str(config))]:
        result = CliRunner().invoke(main, ["-vv", "--config", str(config), *args], env={"CANARY_ENV": CANARY})
        assert result.exit_code == 1, (args, result.output)
        assert "channel 'team' URL #1" in result.output
        seen.append(result.output)
    assert CANARY not in "\n".join([*seen, caplog.text])


# -- below the config: what the notify layer itself prints and stores ---------------------------


@pytest.mark.parametrize(
    "url", [NO_SLASHES.format(secret=CANARY, refused=9), f"json:user:{CANARY}@127.0.0.1:9"]
)
def test_notify_test_names_a_target_without_its_url(url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    [result] = probe_channel("team", [url], default_templates())
    assert result.label == f"channel 'team' #1 ({url.split(':', 1)[0]})"
    assert result.error is not None
    assert CANARY not in result.label + result.error + caplog.text


def test_stored_errors_name_a_target_without_its_url(sqlite_url: str) -> None:
    with Database.open(sqlite_url) as database:
        with database.transaction() as session:
            url = "https://news.example/alliance"
            row = save_article(session, Article(url=url, canonical_url=url, title="T", body="In brief."), NOW)
            assert row is not None
            save_match(session, row, "alliance", ["Daimler"], "**Daimler**", ["team"], NOW)
        channel = NO_SLASHES.format(secret=CANARY, refused=refused_port())
        report = Dispatcher(database, {"team": (channel,)}, max_attempts=1).dispatch_due()
        assert report.failed == 1
        with database.transaction() as session:
            [error] = session.scalars(select(AlertRow.last_error)).all()
    assert error == "channel 'team' #1 (mailto): not a valid apprise URL"


def test_alerts_show_masks_an_error_stored_by_an_older_version(tmp_path: Path) -> None:
    """An error written before labels were masked, quoting an URL no config registers any more."""
    (tmp_path / "rules").mkdir()
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "database: sqlite:///monitor.db\nrules: [rules]\nchannels:\n  team: ['json://127.0.0.1:9/hooks']\n",
        encoding="utf-8",
    )
    seed(config, {})
    old = f"channel 'team' #1 (mailto:user:{CANARY}@127.0.0.1?to=desk@news.example&x=http): refused"
    with (
        Database.open(load_config(config, environ={}).database_url) as database,
        database.transaction() as session,
    ):
        session.execute(update(AlertRow).values(status="failed", last_error=old))
    printed = []
    for args in [("alerts", "show", "1"), ("alerts", "--status", "failed")]:
        result = CliRunner().invoke(main, ["--config", str(config), *args])
        assert result.exit_code == 0, result.output
        printed.append(result.output)
    assert (
        "last error: channel 'team' #1 (mailto:user:***@127.0.0.1?to=desk@news.example&x=http)" in printed[0]
    )
    assert CANARY not in "\n".join(printed)
