"""One crawl process loads its config once and shares one database among spider, pipeline and lock."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy import signals
from scrapy.crawler import Crawler

import monitor.crawl.context
from monitor.crawl.context import CrawlContext
from monitor.crawl.extensions import CrawlLock
from monitor.crawl.pipelines import StoragePipeline
from monitor.errors import MonitorError
from monitor.store.database import Database
from monitor.store.locks import crawl_lock
from monitor.store.schema import current, head
from spiders.news import NewsSpider


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        """\
database: sqlite:///monitor.db
rules: []
sources:
  - {name: wire, kind: feed, url: 'http://127.0.0.1:1/feed.xml', allow_private: true}
""",
        encoding="utf-8",
    )
    return path


def test_the_spider_pipeline_and_lock_share_one_config_and_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []
    load_config = monitor.crawl.context.load_config

    def counted(path: str) -> object:
        loads.append(path)
        return load_config(path)

    monkeypatch.setattr(monitor.crawl.context, "load_config", counted)
    config_path = write_config(tmp_path)
    crawler = Crawler(NewsSpider, {"MONITOR_CONFIG": str(config_path)})
    spider = NewsSpider.from_crawler(crawler, source="wire")
    crawler.spider = spider
    pipeline = StoragePipeline.from_crawler(crawler)
    lock = CrawlLock.from_crawler(crawler)
    lock.spider_opened(spider)

    assert loads == [str(config_path)]  # once, for every component of the crawl
    context = CrawlContext.of(crawler)
    assert spider.database is pipeline.database is context.database
    assert pipeline.config is context.config
    assert current(context.database.engine) == head()  # a new database is migrated at the start
    assert lock.lock is not None
    assert crawl_lock(context.config.database_url, "wire") is None  # the crawl holds its source's lock

    closed: list[Database] = []
    monkeypatch.setattr(context.database, "close", lambda: closed.append(context.database))
    crawler.signals.send_catch_log(signals.spider_closed, spider=spider, reason="finished")
    assert closed == [context.database]  # once, when the spider closes
    assert lock.lock is None
    again = crawl_lock(context.config.database_url, "wire")
    assert again is not None
    again.release()


def test_a_crawl_started_by_monitor_crawl_does_not_check_the_schema_again(tmp_path: Path) -> None:
    settings = {"MONITOR_CONFIG": str(write_config(tmp_path)), "MONITOR_SCHEMA_CHECKED": 1}
    context = CrawlContext.of(Crawler(NewsSpider, settings))
    with context.database:
        assert current(context.database.engine) is None  # `monitor crawl` migrates before it starts us


def test_a_crawl_without_a_config_is_refused() -> None:
    with pytest.raises(MonitorError, match="MONITOR_CONFIG is not set"):
        CrawlContext.of(Crawler(NewsSpider, {}))
