"""Scrapy items: what a spider hands to the pipelines (raw pages, not parsed articles)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class PageItem:
    """One fetched article page; ``monitor.parse`` turns it into an ``Article``."""

    url: str
    body: bytes
    source: str
    encoding: str | None = None
    hint_title: str | None = None
