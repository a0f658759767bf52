"""RedisNewsSpider: one very large source crawled by several processes sharing one frontier.

scrapy-redis does the sharing: its scheduler keeps the request queue in Redis and its
dupefilter keeps the fingerprints of every request seen in a Redis set, so each page is
fetched by exactly one of the processes, on any machine, however many there are. Start
as many as the source deserves, with the same arguments::

    scrapy crawl redis_news -a source=NAME -s MONITOR_CONFIG=/srv/monitor/monitor.yaml \\
        -s REDIS_URL=redis://redis.internal:6379/0

(or schedule ``redis_news`` several times on scrapyd). The first process to start fetches
the source URL; the others find it already seen and take requests from the shared queue
as the first one adds them. A process leaves once the queue has stayed empty for
``MONITOR_FRONTIER_IDLE`` seconds; the last one out deletes the round's keys, so the next
crawl starts afresh. Should every process die, the keys expire on their own: each write to
the queue or the fingerprint set renews its key's time to live (twice ``CLOSESPIDER_TIMEOUT``)
in the same round trip (``ExpiringQueue``, ``ExpiringDupeFilter``), since Redis cannot give
a time to live to a key that does not exist yet. Everything else (feeds, sitemaps,
listings, parsing, storage) is ``NewsSpider``'s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue

from spiders.news import NewsSpider

KEY = "monitor:frontier:{source}"


class RedisNewsSpider(NewsSpider):
    """``NewsSpider`` on a shared scrapy-redis frontier: ``scrapy crawl redis_news -a source=NAME``."""

    name = "redis_news"
    custom_settings: dict[str, Any] | None = {  # noqa: RUF012 (Scrapy declares it so)
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "SCHEDULER_QUEUE_CLASS": "spiders.redis_news.ExpiringQueue",
        "DUPEFILTER_CLASS": "spiders.redis_news.ExpiringDupeFilter",
        # Kept when one process closes: the others are still working from it.
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_KEY": "%(spider)s:requests",
        "SCHEDULER_DUPEFILTER_KEY": "%(spider)s:dupefilter",
        # Several processes crawl this source at once, by design.
        "EXTENSIONS": {"monitor.crawl.extensions.CrawlLock": None},
    }

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> RedisNewsSpider:
        spider: RedisNewsSpider = super().from_crawler(crawler, *args, **kwargs)  # type: ignore[assignment]
        # scrapy-redis names its keys after the spider: one frontier per source.
        spider.name = KEY.format(source=spider.source_name)
        spider.idle_limit = crawler.settings.getfloat("MONITOR_FRONTIER_IDLE", 5.0)
        spider.ttl = max(60, crawler.settings.getint("CLOSESPIDER_TIMEOUT", 600) * 2)
        spider.idle_since = None
        crawler.signals.connect(spider.joined, signal=signals.spider_opened)
        crawler.signals.connect(spider.idle, signal=signals.spider_idle)
        crawler.signals.connect(spider.left, signal=signals.spider_closed)
        return spider

    idle_limit: float
    ttl: int
    idle_since: float | None

    async def start(self) -> Any:
        """The source URL, through the shared dupefilter: only the first process fetches it."""
        async for request in super().start():
            yield _shared(request)

    def _article_requests(self, entries: list[Any]) -> Iterator[scrapy.Request]:
        """Article requests, through the shared dupefilter (``NewsSpider`` bypasses its own)."""
        for request in super()._article_requests(entries):
            yield _shared(request)

    def _slot(self) -> Any:
        engine: Any = self.crawler.engine
        return engine._slot  # Scrapy's engine slot: its scheduler and its next-request call

    def _scheduler(self) -> Any:
        return self._slot().scheduler  # scrapy-redis: holds the connection and queue

    def _redis(self) -> Any:
        return self._scheduler().server

    def _keys(self) -> list[str]:
        return [f"{self.name}:requests", f"{self.name}:dupefilter", f"{self.name}:workers"]

    def joined(self, spider: Any) -> None:
        """Count this process in, and keep the round's keys alive."""
        with self._redis().pipeline() as pipe:  # MULTI: the counter never exists without a TTL
            pipe.incr(f"{self.name}:workers")
            for key in self._keys():
                pipe.expire(key, self.ttl)
            pipe.execute()

    def idle(self, spider: Any) -> None:
        """Stay while the shared queue has work or has been empty for less than the limit."""
        if len(self._scheduler().queue):
            self.idle_since = None
            self._slot().nextcall.schedule()  # take it now, not at the next heartbeat
            raise DontCloseSpider
        now = time.monotonic()
        if self.idle_since is None:
            self.idle_since = now
        if now - self.idle_since < self.idle_limit:
            raise DontCloseSpider

    def left(self, spider: Any, reason: str) -> None:
        """Count this process out; the last one deletes the round's frontier."""
        server = self._redis()
        if int(server.decr(f"{self.name}:workers")) <= 0:
            server.delete(*self._keys())


def _shared(request: Any) -> Any:
    """The request with the dupefilter on: the frontier's fingerprint set decides who fetches."""
    return request.replace(dont_filter=False) if isinstance(request, scrapy.Request) else request


class ExpiringQueue(PriorityQueue):
    """scrapy-redis's priority queue whose key expires ``spider.ttl`` seconds after its last push."""

    def push(self, request: Any) -> None:
        """Add the request and renew the key's time to live, in one round trip."""
        with self.server.pipeline() as pipe:
            pipe.execute_command("ZADD", self.key, -request.priority, self._encode_request(request))
            pipe.expire(self.key, self.spider.ttl)
            pipe.execute()


class ExpiringDupeFilter(RFPDupeFilter):
    """scrapy-redis's fingerprint set whose key expires ``ttl`` seconds after its last new fingerprint."""

    ttl = 600

    @classmethod
    def from_spider(cls, spider: Any) -> ExpiringDupeFilter:
        """The spider's fingerprint set, with the spider's time to live."""
        dupefilter: ExpiringDupeFilter = super().from_spider(spider)
        dupefilter.ttl = spider.ttl
        return dupefilter

    def request_seen(self, request: Any) -> bool:
        """Whether another process (or this one) has already asked for ``request``."""
        with self.server.pipeline() as pipe:
            pipe.sadd(self.key, self.request_fingerprint(request))
            pipe.expire(self.key, self.ttl)
            added, _ = pipe.execute()
        return int(added) == 0
