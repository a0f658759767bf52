"""A crawl opens no control port: Scrapy's telnet console and remote control stay off.

Scrapy 2.19 turned on by default an HTTP server per crawl that runs Python sent to it;
monitor's crawls (the engine's and the ``scrapy crawl`` child's) read the same settings module.
"""

from __future__ import annotations

from scrapy.settings import Settings

from monitor.crawl import settings as crawl_defaults
from monitor.crawl.engine import ENGINE_SETTINGS


def test_control_servers_are_off_in_every_crawl() -> None:
    settings = Settings()
    settings.setmodule(crawl_defaults, priority="project")
    settings.update(ENGINE_SETTINGS, priority="cmdline")
    assert settings.getbool("REMOTE_CONTROL_ENABLED") is False
    assert settings.getbool("TELNETCONSOLE_ENABLED") is False
    default = Settings()
    assert default.getbool("REMOTE_CONTROL_ENABLED") is True  # what Scrapy would do otherwise
