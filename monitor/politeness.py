"""Politeness beyond Scrapy's defaults: ``Retry-After``, backoff between retries, robots.txt failures.

Scrapy's ``RetryMiddleware`` retries 429 and 503 at once and ignores ``Retry-After``;
``RetryAfterMiddleware`` replaces it (same settings) and

- honours ``Retry-After`` (seconds or an HTTP date) on 429 and 503: no request goes to
  that host before the time given; a wait longer than ``MONITOR_RETRY_AFTER_MAX`` is not
  waited out within the crawl: the page fails with reason ``retry-after`` and the wait is
  recorded (stat ``monitor/retry_after``) so the next crawl is not due before it;
- waits between retries of one request (1 s, 2 s, 4 s ... with jitter) instead of at once.

Scrapy's ``RobotsTxtMiddleware`` treats a robots.txt that fails to load as "allow
everything". ``RobotsPolicyMiddleware`` replaces it and follows RFC 9309 §2.3.1 instead:

- 2xx: the rules are obeyed (Protego parses them, Scrapy's default parser);
- 4xx (404, 403, 401, 410 ...): there is no robots.txt, so everything is allowed;
- 5xx, 429, a timeout or a network error: the site is *unreachable* and everything is
  disallowed for this crawl. Each page then fails with reason ``robots-unavailable``, the
  source's crawl counts as failed, and the next scheduled crawl tries again.
"""

from __future__ import annotations

import random
import time
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

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.robotstxt import RobotParser

RETRY_AFTER_STATUSES = frozenset({429, 503})
_NOT_BEFORE = "monitor_not_before"
GAVE_UP = "monitor_retry_after"  # request.meta: the Retry-After (s) that was too long to wait
DENY_ALL = b"User-agent: *\nDisallow: /\n"


class RobotsUnavailable(IgnoreRequest):
    """Raised by ``RobotsPolicyMiddleware`` when robots.txt could not be read (not a 4xx)."""


class RobotsDisallowed(IgnoreRequest):
    """Raised by ``RobotsPolicyMiddleware`` for a URL the site's robots.txt disallows."""


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """The delay a ``Retry-After`` header asks for, in seconds; None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff(retry: int, base: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``retry`` (1-based): base, 2*base, 4*base... +-25 %."""
    jitter = (rng or random).uniform(0.75, 1.25)
    return float(min(base * 2 ** max(retry - 1, 0), 60.0) * jitter)


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retries, plus ``Retry-After`` per host and a backoff between attempts."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler.settings)
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("MONITOR_RETRY_AFTER_MAX", 120.0)
        self.base = crawler.settings.getfloat("MONITOR_RETRY_BACKOFF", 1.0)
        self.not_before: dict[str, float] = {}  # host -> time.monotonic() before which we wait

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        """Hold a request until its host's ``Retry-After`` and its own backoff have passed."""
        host = urlparse_cached(request).netloc
        wait = max(self.not_before.get(host, 0.0), request.meta.get(_NOT_BEFORE, 0.0)) - time.monotonic()
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
        if delay is not None and delay > self.max_wait:
            request.meta[GAVE_UP] = delay
            stats = self.crawler.stats
            if stats is not None:
                stats.max_value("monitor/retry_after", int(delay))
            return response
        retry = self._retry(request, f"HTTP {response.status}")
        if retry is None:
            return response
        host = urlparse_cached(request).netloc
        if delay is not None:
            self.not_before[host] = max(self.not_before.get(host, 0.0), time.monotonic() + delay)
        else:
            retry.meta[_NOT_BEFORE] = time.monotonic() + backoff(retry.meta["retry_times"], self.base)
        return retry

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

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        status = response.status
        if status >= 500 or status == 429:
            self._settle(netloc, f"robots.txt answered HTTP {status}")
            return
        if 400 <= status < 500:
            response = response.replace(body=b"")  # no robots.txt: everything is allowed
        await super()._parse_robots(response, netloc, request)

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
