"""NewsSpider: one spider for every source kind in monitor.yaml.

- feed: RSS/Atom read by feedparser from the response body (``monitor.crawl.feeds``);
- sitemap: sitemaps, news sitemaps and sitemap indexes read by lxml with entities, DTDs
  and the network off (``monitor.crawl.feeds``), ``.xml.gz`` included, with ``lastmod`` and
  ``news:publication_date``;
- listing: a section page whose article links are picked by the source's ``follow`` and
  ``deny`` regular expressions, matched by RE2 (``monitor.crawl.listing``: linear time, so no
  pattern can backtrack; the page is streamed, not made into a tree of every link).

Bounded per crawl by ``crawl.max_entries``: each feed, sitemap (index) or listing gives at
most that many entries, the newest (by date where known, else page order), and the crawl
asks for at most that many new articles in all. What is left out is counted (stat
``monitor/entries_skipped``) and logged, so a feed of 150,000 items or a listing of 370,000
links costs seconds, not the crawl's whole ``timeout``, and the newest articles still come.

Incremental: an article whose canonical URL is stored is not fetched again; the feed or
sitemap itself is fetched with a conditional GET (``If-None-Match``/``If-Modified-Since``
from the last crawl), and a child sitemap whose ``lastmod`` is older than the last crawl
without failures is skipped. Entries dated older than the source's ``max_age`` are skipped.

Every request has an errback: a request that fails for good (after the retries of
``monitor.crawl.politeness``) becomes a ``FailureItem`` with its reason (``monitor.crawl.failures``),
so the pipeline records it and the crawl goes on with the healthy pages.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.utils.gz import gunzip
from twisted.python.failure import Failure

from monitor.config.model import Source
from monitor.crawl.context import CrawlContext
from monitor.crawl.failures import describe
from monitor.crawl.feeds import Entry, read_feed_document, read_sitemap
from monitor.crawl.items import FailureItem, PageItem, ValidatorItem
from monitor.crawl.listing import LinkFilter, extract_links
from monitor.errors import ParseError
from monitor.store.database import Database, known_urls
from monitor.store.runs import Validators, last_complete, validators_for
from monitor.urls import canonical_url

MAX_SITEMAP_DEPTH = 3
LASTMOD_MARGIN = timedelta(hours=1)  # clocks and caches differ: a child sitemap a little older still counts
ENTRY = "monitor_entry"  # request.meta: this is the source's own URL

Item = scrapy.Request | PageItem | FailureItem | ValidatorItem
log = logging.getLogger(__name__)


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
        context = CrawlContext.of(crawler)  # the config and database of this whole crawl
        config = context.config
        spider.source = config.source(spider.source_name)
        spider.max_entries = config.crawl.max_entries
        spider.budget = spider.max_entries  # new article requests this crawl may still make
        spider.sitemap_budget = spider.max_entries  # child sitemaps it may still fetch
        spider.link_filter = LinkFilter(spider.source.follow, spider.source.deny)
        spider.database = context.database  # shared with the pipeline; closed at spider_closed
        record = CrawlContext.poll(crawler)
        if record is not None:  # the engine read them when it opened this poll's run
            spider.validators, spider.complete_at = record.validators, record.complete_at
            return spider
        with spider.database.transaction() as session:
            spider.validators = validators_for(session, [spider.source.url]).get(spider.source.url)
            spider.complete_at = last_complete(session, spider.source.name)
        return spider

    source: Source
    database: Database
    validators: Validators | None
    complete_at: datetime | None
    max_entries: int
    budget: int
    sitemap_budget: int
    link_filter: LinkFilter

    async def start(self) -> Any:
        """The source URL is the only start request: conditional for feeds and sitemaps."""
        callback = {"feed": self.parse_feed, "sitemap": self.parse_sitemap, "listing": self.parse_listing}
        headers: dict[str, str] = {}
        if self.validators is not None and self.source.kind != "listing":
            if self.validators.etag:
                headers["If-None-Match"] = self.validators.etag
            if self.validators.last_modified:
                headers["If-Modified-Since"] = self.validators.last_modified
        yield scrapy.Request(
            self.source.url,
            callback=callback[self.source.kind],
            errback=self.failed,
            headers=headers,
            meta={ENTRY: True, "handle_httpstatus_list": [304]},
            cb_kwargs={"depth": 0},
            dont_filter=True,
        )

    def failed(self, failure: Failure) -> Iterator[FailureItem]:
        """Errback of every request: the failure as an item, so the pipeline records it."""
        request = getattr(failure, "request", None)
        url = self.source.url
        if request is not None:  # the URL the source linked to, not the last redirect hop
            url = (request.meta.get("redirect_urls") or [request.url])[0]
        reason, detail = describe(failure.value if failure.value is not None else RuntimeError("unknown"))
        entry = bool(request is not None and request.meta.get(ENTRY))
        yield FailureItem(url=url, reason=reason, detail=detail, entry=entry)

    def parse_feed(self, response: Response, depth: int = 0) -> Iterator[Item]:
        """Every entry link of an RSS or Atom feed."""
        if self._not_modified(response):
            return
        try:
            document = read_feed_document(response.body, response.url, self.max_entries)
        except ParseError as exc:
            yield self._unreadable(response, exc)
            return
        self._skipped(response, "feed items", document.skipped)
        yield from self._validator(response)
        yield from self._article_requests(list(document.entries))

    def parse_sitemap(self, response: Response, depth: int = 0) -> Iterator[Item]:
        """Article URLs of a sitemap; child sitemaps of a sitemap index, a few levels deep."""
        if self._not_modified(response):
            return
        try:
            body = response.body
            if response.url.endswith(".gz") or body[:2] == b"\x1f\x8b":
                body = gunzip(body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
            document = read_sitemap(body, self.max_entries)
        except (ParseError, OSError, EOFError, ValueError) as exc:
            yield self._unreadable(response, exc)
            return
        self._skipped(response, "sitemap entries", document.skipped)
        if depth == 0:
            yield from self._validator(response)
        if document.kind == "sitemapindex":
            if depth < MAX_SITEMAP_DEPTH:
                yield from self._child_sitemaps(response, document.entries, depth)
            return
        yield from self._article_requests([_absolute(response, entry) for entry in document.entries])

    def parse_listing(self, response: Response, depth: int = 0) -> Iterator[Item]:
        """Links on a section page that the source's follow/deny patterns select."""
        if not isinstance(response, TextResponse):
            yield self._unreadable(response, ParseError("the listing page is not text"))
            return
        links = extract_links(
            response.body, response.url, response.encoding, self.link_filter, self.max_entries
        )
        self._skipped(response, "listing links (at most)", links.skipped)
        yield from self._article_requests(list(links.entries))

    def parse_article(self, response: Response) -> Iterator[PageItem]:
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
            links=tuple(response.meta.get("redirect_urls", ())),  # the feed link, if it redirected
        )

    def _child_sitemaps(self, response: Response, entries: Iterable[Entry], depth: int) -> Iterator[Item]:
        cutoff = self.complete_at - LASTMOD_MARGIN if self.complete_at is not None else None
        for entry in entries:
            if cutoff is not None and entry.modified is not None and entry.modified < cutoff:
                self.crawler.stats.inc_value("monitor/sitemaps_unchanged")
                continue
            if self.sitemap_budget <= 0:
                self.crawler.stats.inc_value("monitor/entries_skipped")
                continue
            self.sitemap_budget -= 1
            yield scrapy.Request(
                response.urljoin(entry.url),
                callback=self.parse_sitemap,
                errback=self.failed,
                cb_kwargs={"depth": depth + 1},
            )

    def _article_requests(self, entries: list[Entry]) -> Iterator[scrapy.Request]:
        cutoff = None
        if self.source.max_age is not None:
            cutoff = datetime.now(UTC) - timedelta(seconds=self.source.max_age)
        fresh = [entry for entry in entries if cutoff is None or entry.date is None or entry.date >= cutoff]
        self.crawler.stats.inc_value("monitor/links_too_old", len(entries) - len(fresh))
        canonical: dict[str, Entry] = {}
        for entry in fresh:
            try:
                canonical.setdefault(canonical_url(entry.url), entry)
            except ValueError:
                self.crawler.stats.inc_value("monitor/links_malformed")
        with self.database.transaction() as session:
            known = known_urls(session, canonical)
        self.crawler.stats.inc_value("monitor/links_found", len(canonical))
        self.crawler.stats.inc_value("monitor/links_known", len(known))
        new = [entry for key, entry in canonical.items() if key not in known]
        if len(new) > self.budget:
            log.warning(
                "%s: %d new articles past crawl.max_entries (%d a crawl) are left for the next crawl",
                self.source.name,
                len(new) - self.budget,
                self.max_entries,
            )
            self.crawler.stats.inc_value("monitor/entries_skipped", len(new) - self.budget)
            new = new[: self.budget]
        self.budget -= len(new)
        for entry in new:
            # dont_filter: each canonical URL is asked for once already, and a redirect loop
            # must run into REDIRECT_MAX_TIMES (and be recorded) rather than vanish in the dupefilter.
            yield scrapy.Request(
                entry.url,
                callback=self.parse_article,
                errback=self.failed,
                dont_filter=True,
            )

    def _skipped(self, response: Response, what: str, count: int) -> None:
        """Log and count the entries of a document that ``crawl.max_entries`` left out."""
        if count <= 0:
            return
        self.crawler.stats.inc_value("monitor/entries_skipped", count)
        log.warning(
            "%s: %s has %d more %s than crawl.max_entries (%d): kept the newest, skipped the rest",
            self.source.name,
            response.url,
            count,
            what,
            self.max_entries,
        )

    def _not_modified(self, response: Response) -> bool:
        if response.status != 304:
            return False
        self.crawler.stats.set_value("monitor/not_modified", True)
        return True

    def _validator(self, response: Response) -> Iterator[ValidatorItem]:
        etag = response.headers.get(b"ETag")
        modified = response.headers.get(b"Last-Modified")
        yield ValidatorItem(
            url=self.source.url,
            etag=etag.decode("latin-1") if etag else None,
            last_modified=modified.decode("latin-1") if modified else None,
        )

    def _unreadable(self, response: Response, exc: BaseException) -> FailureItem:
        reason, detail = describe(exc)
        entry = bool(response.meta.get(ENTRY))
        return FailureItem(url=response.url, reason=reason, detail=detail, entry=entry)


def _absolute(response: Response, entry: Entry) -> Entry:
    url = response.urljoin(entry.url)
    return entry if url == entry.url else Entry(url, entry.title, entry.published, entry.modified)
