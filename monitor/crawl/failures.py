"""Why a request failed, in two forms: a short reason code for counting and a sentence to read.

The exceptions come from Scrapy (its download errors, ``HttpError``, ``IgnoreRequest``
from the redirect and decompression middlewares), Twisted, and monitor's own middlewares
(``monitor.crawl.safety``, ``monitor.crawl.politeness``) and readers (``monitor.crawl.feeds``). The spider's
errback calls ``describe`` once retries are exhausted; the codes are what ``monitor
status`` and the fault tests count.
"""

from __future__ import annotations

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as tx_error

from monitor.crawl.feeds import UnsafeXMLError
from monitor.crawl.politeness import GAVE_UP, HONOURED, RetryAfterHeld, RobotsDisallowed, RobotsUnavailable
from monitor.crawl.safety import RefusedRequest
from monitor.errors import ParseError

_SIZE_WORDS = ("max size", "maxsize", "DOWNLOAD_MAXSIZE")


def describe(exc: BaseException) -> tuple[str, str]:
    """``(reason, detail)`` for a failed request's exception."""
    if isinstance(exc, RefusedRequest):
        return "refused", exc.reason
    if isinstance(exc, RobotsUnavailable):
        return "robots-unavailable", str(exc)
    if isinstance(exc, RobotsDisallowed):
        return "robots", str(exc)
    if isinstance(exc, RetryAfterHeld):
        return "retry-after", str(exc)
    if isinstance(exc, HttpError):
        return _http(exc)
    if isinstance(exc, IgnoreRequest):
        return _ignored(str(exc))
    if isinstance(exc, DownloadCancelledError):  # Scrapy cancels a download only past DOWNLOAD_MAXSIZE
        return "too-large", "the download was stopped: the page is larger than crawl.max_page_size"
    if isinstance(exc, DownloadTimeoutError | tx_error.TimeoutError | TimeoutError):
        return "timeout", f"no complete response in time ({_short(exc)})"
    if isinstance(exc, ResponseDataLossError):
        return "truncated", "the connection closed before the whole body arrived"
    if isinstance(exc, DownloadConnectionRefusedError | tx_error.ConnectionRefusedError):
        return "connect", f"connection refused ({_short(exc)})"
    if isinstance(exc, CannotResolveHostError | tx_error.DNSLookupError):
        return "dns", f"host name lookup failed ({_short(exc)})"
    if isinstance(exc, DownloadFailedError | tx_error.ConnectionLost | tx_error.ConnectionDone):
        return "connection", f"the connection was reset or closed mid-response ({_short(exc)})"
    if isinstance(exc, UnsafeXMLError):
        return "unsafe-xml", str(exc)
    if isinstance(exc, ParseError):
        return "unreadable", str(exc)
    return type(exc).__name__.lower()[:32], _short(exc)


def _http(exc: HttpError) -> tuple[str, str]:
    response = exc.response
    waited = response.meta.get(GAVE_UP) if response.request is not None else None
    if waited is not None:
        honoured = response.meta.get(HONOURED, waited)
        return "retry-after", (
            f"HTTP {response.status}: asked for {waited:.0f} s (Retry-After), honoured {honoured:.0f} s "
            "(crawl.retry_after_max), so not retried in this crawl"
        )
    return f"http-{response.status}", f"HTTP {response.status} (after retries where they apply)"


def _ignored(message: str) -> tuple[str, str]:
    if "redirection" in message:
        return "redirect-loop", "too many redirects (a redirect loop?)"
    if any(word in message for word in _SIZE_WORDS):
        return "too-large", "the body is larger than crawl.max_page_size once decompressed (gzip bomb?)"
    return "ignored", message[:300]


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
