"""Each crawler's copy of the engine's settings template is as deep as Scrapy's own copy."""

from __future__ import annotations

from scrapy.settings import BaseSettings, Settings

from monitor.crawl import settings as crawl_defaults
from monitor.crawl.engine import ENGINE_SETTINGS
from monitor.crawl.pollsettings import TemplateSettings


def template() -> TemplateSettings:
    settings = TemplateSettings()
    settings.setmodule(crawl_defaults, priority="project")
    settings.update(ENGINE_SETTINGS, priority="cmdline")
    return settings


def flat(settings: BaseSettings) -> dict[str, object]:
    """Every setting with its priority, nested component dictionaries included."""
    return {
        name: (flat(value) if isinstance(value, BaseSettings) else value, settings.getpriority(name))
        for name, value in settings.items()
    }


def test_the_copy_holds_what_a_deep_copy_holds() -> None:
    original = template()
    assert flat(original.copy()) == flat(Settings.copy(original))
    assert isinstance(original.copy(), TemplateSettings)


def test_changing_or_freezing_a_copy_leaves_the_template_and_other_copies_alone() -> None:
    original = template()
    first, second = original.copy(), original.copy()
    first.set("USER_AGENT", "changed", priority="cmdline")
    first["DOWNLOADER_MIDDLEWARES"].set("example.Middleware", 10)
    first["RETRY_HTTP_CODES"].append(599)
    first.freeze()
    for other in (original, second):
        assert other["USER_AGENT"] != "changed"
        assert "example.Middleware" not in other["DOWNLOADER_MIDDLEWARES"]
        assert 599 not in other["RETRY_HTTP_CODES"]
        assert not other.frozen
    second.set("USER_AGENT", "other", priority="cmdline")  # still mutable
    assert second["USER_AGENT"] == "other"
