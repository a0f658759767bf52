"""Scrapy items: what a spider hands to the pipelines (raw pages, failures, feed validators)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class PageItem:
    """One fetched article page; ``monitor.parse`` turns it into an ``Article``."""

    url: str
    body: bytes = field(repr=False)  # debug logs quote every item: not 50 KB of HTML each
    source: str
    encoding: str | None = None
    links: tuple[str, ...] = ()  # the feed or listing link and redirects that led to ``url``


@dataclass(slots=True)
class FailureItem:
    """A request that failed for good: its URL, a reason code and a sentence (``monitor.crawl.failures``)."""

    url: str
    reason: str
    detail: str
    entry: bool = False  # the source's own URL: without it the crawl found nothing


@dataclass(slots=True)
class ValidatorItem:
    """The ETag/Last-Modified a feed or sitemap came with, for the next conditional GET."""

    url: str
    etag: str | None
    last_modified: str | None
