"""The `web:` block: where the desk listens and its login, with ${ENV} and positioned errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.config.desk import DEFAULT_LISTEN
from monitor.config.model import ConfigErrors, load_config
from monitor.redact import redact


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_desk_listens_on_loopback_without_a_login_by_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "rules: []\n"), environ={})
    assert config.web.listen == DEFAULT_LISTEN == "127.0.0.1:8080"
    assert config.web.password_hash is None
    assert config.web.session_secret is None


def test_login_settings_come_from_the_environment_and_the_key_is_masked(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "web:\n  listen: 9090\n  password_hash: ${HASH}\n  session_secret: ${WEB_KEY}\n",
    )
    config = load_config(path, environ={"HASH": "scrypt$1$2$3$c2FsdA$aGFzaA", "WEB_KEY": "k3y-of-the-desk"})
    assert config.web.listen == "127.0.0.1:9090"
    assert config.web.password_hash == "scrypt$1$2$3$c2FsdA$aGFzaA"
    assert config.web.session_secret == "k3y-of-the-desk"
    assert "k3y-of-the-desk" not in redact("cookie key k3y-of-the-desk")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("web:\n  listen: nowhere\n", "monitor.yaml:2:11: listen: must be a port number or host:port"),
        ("web:\n  listn: 8080\n", "monitor.yaml:2:3: unknown key 'listn'"),
        ("web:\n  session_secret: ${UNSET_KEY}\n", "monitor.yaml:2:19:"),
    ],
    ids=["bad-address", "typo", "unset-variable"],
)
def test_bad_web_settings_are_positioned_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigErrors) as raised:
        load_config(write(tmp_path, text), environ={})
    assert message in str(raised.value)


def test_a_bad_listen_option_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, f"database: sqlite:///{tmp_path / 'm.db'}\nrules: []\n")
    result = CliRunner().invoke(main, ["--config", str(path), "web", "--listen", "here:port"])
    assert result.exit_code == 1
    assert "--listen must be a port number or host:port, got 'here:port'" in result.output
