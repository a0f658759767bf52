"""deploy/ stays true: the compose file, systemd units and scrapyd configs parse and name real commands.

Docker cannot run on the development machines, so the compose file is checked here as far
as it can be without it: valid YAML, the services the operations guide names, and commands
that exist.
"""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import yaml

from monitor.cli import main
from monitor.config.model import load_config

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"


def _monitor_command(words: list[str]) -> None:
    """``monitor [--config X] COMMAND [SUB]``: the command (and subcommand) must exist."""
    index = 1  # after the executable
    while words[index].startswith("-"):
        index += 2 if words[index] in ("--config", "-c") else 1
    command = main.commands[words[index]]
    sub = words[index + 1] if index + 1 < len(words) else None
    subcommands = getattr(command, "commands", None)
    if subcommands is not None:
        assert sub in subcommands


def test_compose_file() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "scheduler", "dispatcher", "scrapyd"} <= set(services)
    assert services["scheduler"]["deploy"]["replicas"] == 2  # a leader and a standby
    for name, service in services.items():
        command = service.get("command")
        if command and command[0] == "monitor":
            _monitor_command(command)
        if name in ("scheduler", "dispatcher", "scrapyd", "migrate"):
            assert "MONITOR_DATABASE_URL" in service["environment"]
    assert (DEPLOY / services["scrapyd"]["volumes"][2].split(":")[0].removeprefix("./")).exists()


def test_compose_monitor_yaml_is_valid(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    config = tmp_path / "monitor.yaml"
    config.write_text((DEPLOY / "monitor.compose.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    loaded = load_config(config, environ={"MONITOR_ALERT_EMAIL_URL": "mailto://a@example.com"})
    assert loaded.scrapyd == ("http://scrapyd:6800",)
    assert loaded.metrics_port == "0.0.0.0:9464"


def test_systemd_units() -> None:
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert {unit.name for unit in units} >= {
        "monitor.service",
        "monitor-dispatch@.service",
        "monitor-scrapyd.service",
    }
    for unit in units:
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.read_string(unit.read_text(encoding="utf-8"))
        words = shlex.split(parser["Service"]["ExecStart"])
        if words[0].endswith("/monitor"):
            _monitor_command(words)


def test_scrapyd_configs() -> None:
    for name in ("scrapyd.conf", "scrapyd.compose.conf"):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string((DEPLOY / name).read_text(encoding="utf-8"))
        assert parser["scrapyd"]["http_port"] == "6800"
        assert parser["scrapyd"]["items_dir"] == ""  # items go to the database, not to files
    cfg = configparser.ConfigParser()
    cfg.read_string((ROOT / "scrapy.cfg").read_text(encoding="utf-8"))
    assert cfg["deploy"]["project"] == "monitor"
    assert cfg["deploy:compose"]["url"] == "http://scrapyd:6800/"
