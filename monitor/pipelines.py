"""Scrapy glue: each fetched page goes parse -> store -> match -> outbox, in one transaction.

The pipeline runs inside the crawl's child process. It loads ``monitor.yaml`` and the rules
once when the spider opens, and records the crawl run (pages, articles, outcome) so the
parent process and ``monitor status`` can report it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor.config import Config, Source, load_config
from monitor.errors import MonitorError, ParseError
from monitor.items import PageItem
from monitor.parse import parse_html
from monitor.rules import RuleSet, load_rules
from monitor.store import Database, finish_crawl, save_article, save_match, start_crawl

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

log = logging.getLogger(__name__)


def _source_of(spider: Spider) -> Source:
    """The configured source a spider crawls (monitor never imports ``spiders``)."""
    source = getattr(spider, "source", None)
    if not isinstance(source, Source):
        raise MonitorError(f"spider {spider.name!r} has no monitor source; use `scrapy crawl news`")
    return source


def channels_for(rule_channels: tuple[str, ...], config: Config) -> tuple[str, ...]:
    """A rule's channel tags; a rule that names none goes to every configured channel."""
    return rule_channels or tuple(config.channels)


class StoragePipeline:
    """Parses each ``PageItem``, stores the article, matches the rules, queues alerts."""

    def __init__(self, config: Config, rules: RuleSet) -> None:
        self.config = config
        self.rules = rules
        self.database = Database(config.database_url)
        self.run_id: int | None = None
        self.stored = 0
        self.alerts = 0
        self.parse_errors = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        """Load the config named by the ``MONITOR_CONFIG`` setting and its rules."""
        path = crawler.settings.get("MONITOR_CONFIG")
        if not path:
            raise MonitorError("MONITOR_CONFIG is not set; run crawls with `monitor crawl`")
        config = load_config(path)
        rules, errors = load_rules(config.rule_paths)
        for error in errors:
            log.error("rule file skipped: %s", error)
        return cls(config, rules)

    def open_spider(self, spider: Spider) -> None:
        """Record the start of this crawl run."""
        with self.database.transaction() as session:
            self.run_id = start_crawl(session, _source_of(spider).name, datetime.now(UTC))

    def close_spider(self, spider: Spider) -> None:
        """Record the figures and outcome of this crawl run."""
        stats = spider.crawler.stats
        pages = int(stats.get_value("response_received_count", 0)) if stats else 0
        reason = stats.get_value("finish_reason") if stats else None
        failures = int(stats.get_value("downloader/exception_count", 0)) if stats else 0
        error = None
        if reason not in (None, "finished"):
            error = f"crawl ended early: {reason}"
        elif failures and not pages:
            error = f"{failures} download errors and no page fetched"
        if self.run_id is not None:
            with self.database.transaction() as session:
                finish_crawl(session, self.run_id, datetime.now(UTC), pages, self.stored, error)
        self.database.close()

    def process_item(self, item: Any, spider: Spider) -> Any:
        """parse -> store -> match -> outbox for one page; duplicates are dropped quietly."""
        if not isinstance(item, PageItem):
            return item
        try:
            article = parse_html(
                item.body,
                item.url,
                encoding=item.encoding,
                source=item.source,
                selectors=_source_of(spider).selectors,
            )
        except ParseError as exc:
            self.parse_errors += 1
            log.warning("cannot parse %s: %s", item.url, exc)
            return item
        now = datetime.now(UTC)
        with self.database.transaction() as session:
            row = save_article(session, article, now)
            if row is None:
                return item
            self.stored += 1
            for match in self.rules.match(article):
                channels = channels_for(match.rule.channels, self.config)
                self.alerts += save_match(
                    session, row, match.rule.name, match.terms, match.snippet, channels, now
                )
        return item
