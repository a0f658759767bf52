"""Politeness beyond Scrapy's defaults: ``Retry-After``, backoff between retries, robots.txt failures.

Scrapy's ``RetryMiddleware`` retries 429 and 503 at once and ignores ``Retry-After``;
``RetryAfterMiddleware`` replaces it (same settings) and

- honours ``Retry-After`` (seconds or an HTTP date, read without ever overflowing: garbage
  and negative values are ignored) on 429 and 503, per host, up to ``MONITOR_RETRY_AFTER_MAX``
  (``crawl.retry_after_max``): no request goes to that host before then. A server asking
  for more is honoured for the maximum only, and a log line says "asked for N s, honoured
  M s". The crawl waits it out and retries the page if the wait is within the maximum and
  ends before the crawl's own time limit (``CLOSESPIDER_TIMEOUT``); otherwise the page fails
  with reason ``retry-after``, the host's other pages too if the wait outlasts the crawl,
  and the honoured wait is recorded (stat ``monitor/retry_after``) so the source's next
  crawl is not due before it (and never later than the maximum);
- waits between retries of one request (1 s, 2 s, 4 s ... with jitter) instead of at once,
  and never past the crawl's time limit.

Scrapy's ``RobotsTxtMiddleware`` treats a robots.txt that fails to load as "allow
everything". ``RobotsPolicyMiddleware`` replaces it and follows RFC 9309 §2.3.1 instead:

- 2xx: the rules are obeyed (Protego parses them, Scrapy's default parser);
- 4xx (404, 403, 401, 410 ...): there is no robots.txt, so everything is allowed;
- 5xx, 429, a timeout or a network error: the site is *unreachable* and everything is
  disallowed for this crawl. Each page then fails with reason ``robots-unavailable``, the
  source's crawl counts as failed, and the next scheduled crawl tries again.

In the long-lived engine (``monitor.crawl.engine``) a ``RobotsCache`` keeps each host's
rules between crawls, so a poll that finds nothing new costs one conditional GET: a
robots.txt read (2xx, or 4xx meaning "allow everything") is kept for its ``Cache-Control:
max-age`` (``no-store``/``no-cache``: not kept), at most ``ROBOTS_MAX_AGE`` (RFC 9309 §2.4:
24 hours). One that could not be read is not kept: the next crawl asks again.
"""

from __future__ import annotations

import logging
import math
import random
import re
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet import task
from twisted.internet.defer import Deferred

from monitor.backoff import backoff_seconds
from monitor.crawl import settings as defaults
from monitor.crawl.context import CrawlContext

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.robotstxt import RobotParser

RETRY_AFTER_STATUSES = frozenset({429, 503})
_NOT_BEFORE = "monitor_not_before"
GAVE_UP = "monitor_retry_after"  # request.meta: the Retry-After (s) that was too long to wait
HONOURED = "monitor_retry_after_honoured"  # request.meta: how much of it was honoured (s)
MAX_ASKED = 1e18  # seconds: a longer Retry-After is read as this (a float, so no overflow)
_SECONDS = re.compile(r"[0-9]{1,40}")
log = logging.getLogger(__name__)
DENY_ALL = b"User-agent: *\nDisallow: /\n"
ROBOTS_MAX_AGE = 24 * 3600  # seconds a robots.txt is used at most (RFC 9309 §2.4)
_MAX_AGE = re.compile(rb"max-age\s*=\s*\"?([0-9]{1,12})")
_NO_STORE = re.compile(rb"no-store|no-cache")


@dataclass(frozen=True, slots=True)
class _Cached:
    parser: RobotParser
    expires: float  # time.monotonic()


class RobotsCache:
    """robots.txt rules per scheme and host, kept across the crawls of one process until they expire."""

    def __init__(self, max_age: float = ROBOTS_MAX_AGE) -> None:
        self.max_age = max_age
        self._entries: dict[str, _Cached] = {}
        self._lock = threading.Lock()  # crawls run on the reactor thread; ``clear`` may come from another
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> RobotParser | None:
        """The rules cached for ``key`` (``scheme://netloc``), or None when absent or expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.expires <= time.monotonic():
                self._entries.pop(key, None)
                self.misses += 1
                return None
            self.hits += 1
            return entry.parser

    def put(self, key: str, parser: RobotParser, cache_control: bytes | None) -> None:
        """Keep ``parser`` for the response's ``max-age`` (at most ``max_age``); not with no-store."""
        seconds = self.max_age
        if cache_control:
            if _NO_STORE.search(cache_control.lower()):
                return
            found = _MAX_AGE.search(cache_control.lower())
            if found:
                seconds = min(seconds, float(found.group(1)))
        if seconds <= 0:
            return
        with self._lock:
            self._entries[key] = _Cached(parser, time.monotonic() + seconds)

    def clear(self) -> None:
        """Forget every host's rules."""
        with self._lock:
            self._entries.clear()


class RobotsUnavailable(IgnoreRequest):
    """Raised by ``RobotsPolicyMiddleware`` when robots.txt could not be read (not a 4xx)."""


class RobotsDisallowed(IgnoreRequest):
    """Raised by ``RobotsPolicyMiddleware`` for a URL the site's robots.txt disallows."""


class RetryAfterHeld(IgnoreRequest):
    """Raised by ``RetryAfterMiddleware`` for a request its host asked to wait with past the crawl's end."""

    def __init__(self, message: str, asked: float, honoured: float) -> None:
        super().__init__(message)
        self.asked, self.honoured = asked, honoured


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """The delay a ``Retry-After`` header asks for, in seconds; None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if _SECONDS.fullmatch(text):
        return min(float(text), MAX_ASKED)
    if len(text) > 64:  # an HTTP date is 29 characters
        return None
    try:
        when = parsedate_to_datetime(text)
        seconds = when.timestamp() - (time.time() if now is None else now)
    except (TypeError, ValueError, IndexError, OverflowError, AttributeError):
        return None
    if when.tzinfo is None or not math.isfinite(seconds):
        return None
    return min(max(0.0, seconds), MAX_ASKED)


def backoff(retry: int, base: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``retry`` (1-based): base, 2*base, 4*base... +-25 %."""
    return backoff_seconds(retry, base, 60.0, (0.75, 1.25), (rng or random).random)


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retries, plus ``Retry-After`` per host and a backoff between attempts."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler.settings)
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("MONITOR_RETRY_AFTER_MAX", defaults.MONITOR_RETRY_AFTER_MAX)
        self.base = crawler.settings.getfloat("MONITOR_RETRY_BACKOFF", defaults.MONITOR_RETRY_BACKOFF)
        limit = crawler.settings.getfloat("CLOSESPIDER_TIMEOUT", 0.0)
        self.deadline = time.monotonic() + limit if limit > 0 else math.inf  # the crawl's end
        self.not_before: dict[str, float] = {}  # host -> time.monotonic() before which we wait
        self.held: dict[str, tuple[float, float]] = {}  # host -> (asked, honoured): not in this crawl

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        """Hold a request until its host's ``Retry-After`` and its own backoff have passed."""
        host = urlparse_cached(request).netloc
        if host in self.held:
            asked, honoured = self.held[host]
            raise RetryAfterHeld(
                f"{host} asked for {asked:.0f} s (Retry-After), honoured {honoured:.0f} s: "
                "longer than this crawl has left, so not fetched in this crawl",
                asked,
                honoured,
            )
        until = max(self.not_before.get(host, 0.0), request.meta.get(_NOT_BEFORE, 0.0))
        if until > self.deadline:
            raise IgnoreRequest("the wait before retrying ends after the crawl's time limit")
        wait = until - time.monotonic()
        if wait > 0:
            from twisted.internet import reactor

            await maybe_deferred_to_future(task.deferLater(reactor, wait))

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        """Retry retryable statuses after ``Retry-After`` or a backoff; give up on long waits."""
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        delay = None
        if response.status in RETRY_AFTER_STATUSES:
            delay = retry_after_seconds(response.headers.get(b"Retry-After"))
        host = urlparse_cached(request).netloc
        if delay is not None and self._hold(request, host, delay):
            return response
        retry = self._retry(request, f"HTTP {response.status}")
        if retry is None:
            return response
        if delay is None:
            retry.meta[_NOT_BEFORE] = time.monotonic() + backoff(retry.meta["retry_times"], self.base)
        return retry

    def _hold(self, request: Request, host: str, asked: float) -> bool:
        """Keep away from ``host`` for ``asked`` seconds, at most ``max_wait``; True: give the page up.

        The page is given up (not retried in this crawl) when the host asked for more than
        is honoured, or the wait outlasts the crawl; the honoured wait is then recorded for
        the next crawl's due time, and past the crawl's end the host's other pages wait for
        the next crawl too.
        """
        honoured = min(asked, self.max_wait)
        until = time.monotonic() + honoured
        self.not_before[host] = max(self.not_before.get(host, 0.0), until)
        if asked > self.max_wait:
            log.warning(
                "%s asked for %.0f s (Retry-After), honoured %.0f s (crawl.retry_after_max)",
                host,
                asked,
                honoured,
            )
        if asked <= self.max_wait and until <= self.deadline:
            return False
        request.meta[GAVE_UP], request.meta[HONOURED] = asked, honoured
        if until > self.deadline:
            self.held[host] = (asked, honoured)
        stats = self.crawler.stats
        if stats is not None:
            stats.max_value("monitor/retry_after", math.ceil(honoured))
            stats.max_value("monitor/retry_after_asked", int(asked))
        return True

    def process_exception(
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> Request | Response | None:
        """Retry network failures as Scrapy does, after a backoff."""
        retry = super().process_exception(request, exception)
        if isinstance(retry, Request):
            retry.meta[_NOT_BEFORE] = time.monotonic() + backoff(retry.meta.get("retry_times", 1), self.base)
        return retry


class RobotsPolicyMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware with RFC 9309's rule for a robots.txt that fails to load."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.unreachable: dict[str, str] = {}  # netloc -> why its robots.txt could not be read
        context = CrawlContext.existing(crawler)
        self.cache = context.robots if context is not None else None  # the engine's, across crawls

    async def robot_parser(self, request: Request) -> RobotParser | None:
        """The host's rules: this crawl's, else the engine's cached ones, else robots.txt fetched."""
        if self.cache is not None:
            url = urlparse_cached(request)
            if url.netloc not in self._parsers:
                cached = self.cache.get(f"{url.scheme}://{url.netloc}")
                if cached is not None:
                    self._parsers[url.netloc] = cached
                    if self.crawler.stats is not None:
                        self.crawler.stats.inc_value("monitor/robots_cached")
        return await super().robot_parser(request)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        status = response.status
        if status >= 500 or status == 429:
            self._settle(netloc, f"robots.txt answered HTTP {status}")
            return
        if 400 <= status < 500:
            response = response.replace(body=b"")  # no robots.txt: everything is allowed
        await super()._parse_robots(response, netloc, request)
        parser = self._parsers.get(netloc)
        if self.cache is not None and parser is not None and not isinstance(parser, Deferred):
            scheme = urlparse_cached(response).scheme
            self.cache.put(f"{scheme}://{netloc}", parser, response.headers.get(b"Cache-Control"))

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        detail = str(exc).rstrip(".") or type(exc).__name__
        self._settle(netloc, f"robots.txt could not be fetched ({detail})")

    def _settle(self, netloc: str, reason: str) -> None:
        self.unreachable[netloc] = reason
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value("monitor/robots_unavailable")
        parser: RobotParser = build_from_crawler(self._parserimpl, self.crawler, DENY_ALL)
        pending = self._parsers[netloc]
        self._parsers[netloc] = parser
        if isinstance(pending, Deferred):
            pending.callback(parser)

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        netloc = urlparse_cached(request).netloc
        if netloc in self.unreachable:
            reason = self.unreachable[netloc]
            raise RobotsUnavailable(
                f"{reason}: nothing is fetched from this site until it can be read (RFC 9309)"
            )
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest:
            raise RobotsDisallowed("robots.txt disallows this URL") from None
