"""Every setting declared once (issue 16): the README table, the Scrapy settings and the parsers follow it."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from monitor.config.channels import Channel
from monitor.config.crawl import CrawlSettings, OperatorSettings
from monitor.config.declare import default_of, keys_of, settings_of
from monitor.config.desk import DeskSettings
from monitor.config.model import DEFAULT_USER_AGENT, Config, ConfigErrors, Schedule, Source, load_config
from monitor.config.reference import COMMAND, END, START, render, replaced
from monitor.config.values import (
    check_zone,
    cron_trigger,
    duration_or_zero,
    format_size,
    metrics_address,
    parse_address,
    parse_size,
    positive_int,
    zone,
)
from monitor.crawl import settings as scrapy_settings
from monitor.crawl.settings import crawl_settings

README = Path(__file__).parents[2] / "README.md"
DECLARED = (Config, CrawlSettings, OperatorSettings, DeskSettings, Source, Schedule, Channel)


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Config:
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ=environ or {})


def errors_of(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load(tmp_path, text, environ)
    return [str(error).replace(str(tmp_path) + "/", "") for error in caught.value.errors]


def test_the_readme_table_is_the_generated_one() -> None:
    text = README.read_text(encoding="utf-8")
    assert START in text, f"README.md lost its {START} marker"
    assert END in text, f"README.md lost its {END} marker"
    assert text == replaced(text, render()), f"README.md's configuration table is stale: run `{COMMAND}`"


def test_every_setting_has_a_description_and_a_kind() -> None:
    for cls in DECLARED:
        for section in (None, "dispatch") if cls is Config else (None,):
            for declared in settings_of(cls, section):
                assert declared.about.help.strip(), (cls.__name__, declared.key)
                assert declared.about.kind.strip(), (cls.__name__, declared.key)
    table = render()
    for key in ("page_timeout", "max_entries", "after_failures", "min_interval", "quiet_hours", "lease"):
        assert f"| `{key}` |" in table


def test_declared_defaults_are_the_dataclass_defaults() -> None:
    assert CrawlSettings().timeout == default_of(CrawlSettings, "timeout") == 15 * 60
    assert Schedule().jitter == default_of(Schedule, "jitter") == 30
    assert keys_of(Config, "dispatch") == ("every", "max_attempts", "max_age", "lease")
    assert "dispatch" in keys_of(Config)
    assert "path" not in keys_of(Config)
    assert "channel_settings" not in keys_of(Config)


def test_the_scrapy_defaults_are_the_declared_ones() -> None:
    crawl = CrawlSettings()
    module = {name: getattr(scrapy_settings, name) for name in dir(scrapy_settings) if name.isupper()}
    assert module["USER_AGENT"] == DEFAULT_USER_AGENT == Config(None, "sqlite://").user_agent
    assert module["DOWNLOAD_TIMEOUT"] == crawl.page_timeout
    assert module["DOWNLOAD_MAXSIZE"] == crawl.max_page_size
    assert module["CONCURRENT_REQUESTS_PER_DOMAIN"] == crawl.per_domain
    assert module["CLOSESPIDER_TIMEOUT"] == crawl.timeout
    assert module["MONITOR_RETRY_AFTER_MAX"] == crawl.retry_after_max
    assert not [name for name in module if name.startswith("_")], "Scrapy would take these as settings"


def test_crawl_settings_of_a_source(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "contact: https://news.example/crawler\n"
        "crawl: {page_timeout: 10s, timeout: 5m, max_page_size: 1MB, per_domain: 3, workers: 1,"
        " retry_after_max: 2m}\n"
        "sources:\n  - {name: local, kind: feed, url: 'http://127.0.0.1/feed', allow_private: true}\n",
    )
    settings = crawl_settings(config, config.source("local"))
    assert settings == {
        "MONITOR_CONFIG": str(tmp_path / "monitor.yaml"),
        "USER_AGENT": "monitor/0.1 (+https://news.example/crawler)",
        "MONITOR_ALLOW_PRIVATE": 1,
        "DOWNLOAD_TIMEOUT": 10,
        "DOWNLOAD_MAXSIZE": 1024 * 1024,
        "DOWNLOAD_WARNSIZE": 512 * 1024,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 3,
        "CLOSESPIDER_TIMEOUT": 300,
        "MONITOR_RETRY_AFTER_MAX": 120,
        "MONITOR_WORKERS": 1,
        "MONITOR_SCHEMA_CHECKED": 1,
    }
    for name in settings:  # a crawl started without them (by hand) gets the module's default
        assert hasattr(scrapy_settings, name), name


def test_the_child_command_carries_the_crawl_settings(tmp_path: Path) -> None:
    from monitor.crawl.runner import _command

    config = load(tmp_path, "sources:\n  - {name: a, kind: feed, url: 'https://a.example/feed'}\n")
    command = _command(config, config.source("a"), 7, "INFO", {"MONITOR_PARENT_PID": 42})
    pairs = [command[index + 1] for index, word in enumerate(command) if word == "-s"]
    expected = {f"{name}={value}" for name, value in crawl_settings(config, config.source("a")).items()}
    assert expected | {"MONITOR_RUN_ID=7", "LOG_LEVEL=INFO", "MONITOR_PARENT_PID=42"} == set(pairs)


def test_user_agent_is_expanded_from_the_environment(tmp_path: Path) -> None:
    config = load(
        tmp_path, "user_agent: 'newsbot/2 (+${CRAWLER_PAGE})'\n", {"CRAWLER_PAGE": "https://n.example/"}
    )
    assert config.user_agent == "newsbot/2 (+https://n.example/)"
    assert errors_of(tmp_path, "user_agent: 'newsbot/2 (+${CRAWLER_PAGE})'\n") == [
        "monitor.yaml:1:13: environment variable CRAWLER_PAGE is not set"
    ]


def test_contact_and_user_agent() -> None:
    assert DEFAULT_USER_AGENT == "monitor/0.1 (+https://github.com/monitor-news/monitor)"


def test_dispatch_max_age_is_the_alert_max_age(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "dispatch: {max_age: 2h, lease: 1m}\n"
        "sources:\n  - {name: a, kind: feed, url: 'https://a/', max_age: 3d}\n",
    )
    assert config.alert_max_age == 7200
    assert config.lease == 60
    assert config.sources[0].max_age == 3 * 86400
    assert load(tmp_path, "").alert_max_age == default_of(Config, "alert_max_age") == 86400


def test_unknown_keys_are_suggested_from_the_declaration(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "crawl:\n  per_domian: 2\n") == [
        "monitor.yaml:2:3: unknown key 'per_domian' in crawl (did you mean 'per_domain'?)"
    ]
    assert errors_of(tmp_path, "dispatch:\n  max_attempt: 2\n") == [
        "monitor.yaml:2:3: unknown key 'max_attempt' in dispatch (did you mean 'max_attempts'?)"
    ]
    assert errors_of(
        tmp_path, "sources:\n  - {name: a, kind: feed, url: 'https://a/', min_intervall: 5m}\n"
    ) == ["monitor.yaml:2:46: unknown key 'min_intervall' in source (did you mean 'min_interval'?)"]


def test_a_source_keeps_its_min_interval_and_a_channel_its_urls(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "channels:\n  team: {urls: ['json://127.0.0.1:9/'], quiet_hours: '22:00-07:00'}\n"
        "sources:\n  - {name: a, kind: feed, url: 'https://a/', min_interval: 5m, max_interval: 1h}\n",
    )
    assert config.sources[0].min_interval == 300
    assert config.sources[0].schedule.every == 300
    assert config.channel_settings["team"].urls == ("json://127.0.0.1:9/",)
    assert config.channel_settings["team"].digest == default_of(Channel, "digest")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(9464, ("127.0.0.1", 9464)), ("0.0.0.0:9464", ("0.0.0.0", 9464)), ("[::1]:9464", ("::1", 9464))],
)
def test_addresses(value: object, expected: tuple[str, int]) -> None:
    assert parse_address(value) == expected


@pytest.mark.parametrize("value", [True, 0, 65536, "host:", "http", "٣٣", "1" * 5000, "h:-1", 9464.5])
def test_bad_addresses(value: object) -> None:
    with pytest.raises(ValueError, match=r"^must be a port number or host:port, got "):
        parse_address(value)


def test_metrics_addresses_are_written_back_whole() -> None:
    assert metrics_address(9464) == "127.0.0.1:9464"
    assert metrics_address("[::1]:9464") == "[::1]:9464"
    assert parse_address(metrics_address("[::1]:9464")) == ("::1", 9464)


def test_sizes_and_counts() -> None:
    assert parse_size("8MB") == 8 * 1024 * 1024
    assert format_size(8 * 1024 * 1024) == "8MB"
    assert format_size(1000) == "1000"
    assert duration_or_zero("0") == 0
    assert duration_or_zero("1m") == 60
    for value in (True, 0, -1, 1.5, "3"):
        with pytest.raises(ValueError, match="positive whole number"):
            positive_int(value)


def test_zones_and_crons() -> None:
    assert check_zone("Europe/Berlin") == "Europe/Berlin"
    assert str(zone("Europe/Berlin")) == "Europe/Berlin"
    for name in ("Mars/Olympus", "Z" * 5000, "../etc/passwd", ""):
        with pytest.raises(ValueError, match="unknown time zone"):
            zone(name)
    assert str(cron_trigger("0 8 * * *", "Europe/Berlin").timezone) == "Europe/Berlin"


def test_every_field_with_a_key_is_a_setting() -> None:
    """Nothing read from monitor.yaml is left out of the declaration (and so of the README)."""
    for cls in DECLARED:
        undeclared = {item.name for item in fields(cls) if "monitor.setting" not in item.metadata}
        assert undeclared <= {"path", "channel_settings"}, (cls.__name__, undeclared)
