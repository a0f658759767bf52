"""NewsSpider: one spider for every source kind in monitor.yaml.

- feed: RSS/Atom parsed by feedparser from the response body (never fetched by feedparser);
- sitemap: sitemaps and sitemap indexes read with Scrapy's own ``Sitemap`` (lxml with
  entity resolution off), ``.xml.gz`` included;
- listing: a section page whose article links are picked by the source's ``follow`` and
  ``deny`` regular expressions (Scrapy's ``LinkExtractor``).

Article pages whose canonical URL is already stored are not fetched again. Each fetched
page is yielded as a raw ``PageItem``; ``monitor.pipelines`` parses and stores it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import feedparser
import scrapy
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap

from monitor.config import Source, load_config
from monitor.items import PageItem
from monitor.store import Database, known_urls
from monitor.urls import canonical_url

MAX_SITEMAP_DEPTH = 3


class NewsSpider(scrapy.Spider):
    """Crawl one configured source: ``scrapy crawl news -a source=NAME``."""

    name = "news"

    def __init__(self, source: str = "", *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not source:
            raise ValueError("NewsSpider needs -a source=NAME")
        self.source_name = source

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> NewsSpider:
        spider: NewsSpider = super().from_crawler(crawler, *args, **kwargs)
        config = load_config(crawler.settings.get("MONITOR_CONFIG"))
        spider.source = config.source(spider.source_name)
        spider.database_url = config.database_url
        return spider

    source: Source
    database_url: str

    async def start(self) -> Any:
        """The source URL is the only start request."""
        callback = {"feed": self.parse_feed, "sitemap": self.parse_sitemap, "listing": self.parse_listing}
        yield scrapy.Request(self.source.url, callback=callback[self.source.kind], cb_kwargs={"depth": 0})

    def parse_feed(self, response: Response, depth: int = 0) -> Iterator[scrapy.Request]:
        """Every entry link of an RSS or Atom feed."""
        parsed = feedparser.parse(response.body, response_headers={"content-location": response.url})
        links = []
        for entry in parsed.entries:
            link = entry.get("link") or entry.get("id")
            if link:
                links.append((response.urljoin(link), entry.get("title")))
        yield from self._article_requests(links)

    def parse_sitemap(self, response: Response, depth: int = 0) -> Iterator[scrapy.Request]:
        """Article URLs of a sitemap; child sitemaps of a sitemap index, a few levels deep."""
        body = response.body
        if response.url.endswith(".gz") or body[:2] == b"\x1f\x8b":
            body = gunzip(body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
        sitemap = Sitemap(body)
        locations = [entry["loc"] for entry in sitemap if entry.get("loc")]
        if sitemap.type == "sitemapindex":
            if depth < MAX_SITEMAP_DEPTH:
                for loc in locations:
                    yield scrapy.Request(
                        response.urljoin(loc), callback=self.parse_sitemap, cb_kwargs={"depth": depth + 1}
                    )
            return
        yield from self._article_requests([(response.urljoin(loc), None) for loc in locations])

    def parse_listing(self, response: Response, depth: int = 0) -> Iterator[scrapy.Request]:
        """Links on a section page that the source's follow/deny patterns select."""
        if not isinstance(response, TextResponse):
            return
        extractor = LinkExtractor(allow=self.source.follow, deny=self.source.deny)
        links = [(link.url, link.text.strip() or None) for link in extractor.extract_links(response)]
        yield from self._article_requests(links)

    def _article_requests(self, links: list[tuple[str, str | None]]) -> Iterator[scrapy.Request]:
        canonical = {canonical_url(url): (url, title) for url, title in links}
        database = Database(self.database_url)
        try:
            with database.transaction() as session:
                known = known_urls(session, canonical)
        finally:
            database.close()
        self.crawler.stats.set_value("monitor/links_found", len(canonical))
        self.crawler.stats.set_value("monitor/links_known", len(known))
        for key, (url, title) in canonical.items():
            if key in known:
                continue
            yield scrapy.Request(url, callback=self.parse_article, cb_kwargs={"hint_title": title})

    def parse_article(self, response: Response, hint_title: str | None = None) -> Iterator[PageItem]:
        """Hand the raw page to the pipeline; parsing happens there."""
        encoding = None
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        if "charset=" in content_type.lower():
            encoding = content_type.lower().split("charset=", 1)[1].split(";")[0].strip() or None
        yield PageItem(
            url=response.url,
            body=response.body,
            source=self.source.name,
            encoding=encoding,
            hint_title=hint_title,
        )
