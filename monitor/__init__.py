"""monitor: media monitoring with Scrapy spiders, YAML watch rules and apprise alerts."""

from __future__ import annotations

__version__ = "0.1.0"
