"""Redaction: secrets masked in what handlers print, nothing formatted that none prints, and the
general mask for URLs nobody registered (no ``//``, tokens in paths, credential query values)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from monitor import redact as redaction
from monitor.redact import protect, redact


@pytest.fixture(autouse=True)
def no_registered_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start each test with no secret registered: other tests' ``protect`` calls (the canary
    tests register their URLs process-wide) would otherwise mask parts of these texts."""
    monkeypatch.setattr(redaction, "_secrets", set())
    monkeypatch.setattr(redaction, "_pending", [])


SECRET = "Zq8wLk2pVt7sRb"


@contextmanager
def printed_at_info() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose only handler prints INFO and above, as Scrapy's handler on the root does.

    pytest's own capturing handlers (which keep every level) are set aside meanwhile.
    """
    protect([], [SECRET])
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setLevel(logging.INFO)
    logger = logging.getLogger("monitor.test_redact")
    saved, propagate = logger.handlers[:], logger.propagate
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, out
    finally:
        logger.handlers, logger.propagate = saved, propagate


def test_messages_and_tracebacks_are_masked() -> None:
    with printed_at_info() as (logger, out):
        logger.info("posting to https://hooks.example/%s", SECRET)
        try:
            raise RuntimeError(f"refused https://hooks.example/{SECRET}")
        except RuntimeError:
            logger.exception("send failed")
    printed = out.getvalue()
    assert "posting to https://hooks.example/***" in printed
    assert "RuntimeError: refused https://hooks.example/***" in printed
    assert SECRET not in printed


def test_records_no_handler_prints_are_never_formatted() -> None:
    class Loud:
        def __repr__(self) -> str:
            raise AssertionError("a debug record was formatted")

    with printed_at_info() as (logger, out):
        logger.debug("item %r", Loud())
    assert out.getvalue() == ""


# -- the general mask: URLs nobody registered with protect() -----------------------------------

# Each token is used by this table only, and none contains another test's canary, so no earlier
# protect() call (the canary tests register "s3cr3t-canary") can have registered part of it.
MASKED = [
    ("mailto:user:unl1sted-tok-a1@smtp.example?to=desk@news.example", "mailto:user:***@smtp.example"),
    ("mailto://user:unl1sted-tok-a2@smtp.example:587", "mailto://user:***@smtp.example:587"),
    ("json:user:unl1sted-tok-a3@127.0.0.1:9/hooks", "json:user:***@127.0.0.1:9/hooks"),
    ("json://127.0.0.1:9/hooks/unl1sted-tok-a4", "json://127.0.0.1:9/hooks/***"),
    ("slack://T1234ABCD/B5678EFGH/unl1sted-tok-a5/#general", "slack://***/***/***/#general"),
    ("tgram://123456789:unl1sted-tok-a6/1234", "tgram://123456789:***/1234"),
    ("discord://1234567890/unl1sted-tok-a7", "discord://1234567890/***"),
    ("json://hooks.example/x?pass=unl1sted-tok-a8&rto=1", "json://hooks.example/x?pass=***&rto=1"),
    ("https://hooks.example/x?token=unl1sted-tok-a9", "https://hooks.example/x?token=***"),
    ("ntfy://ntfy.example/topic?key=unl1sted-tok-b1", "ntfy://ntfy.example/topic?key=***"),
    ("json://hooks.example/x?secret=unl1sted%2Dtok-b2", "json://hooks.example/x?secret=***"),
    ("https://user:unl1sted-tok-b3@feeds.example/rss", "https://user:***@feeds.example/rss"),
]


@pytest.mark.parametrize(("url", "expected"), MASKED)
def test_unregistered_urls_in_text_are_masked(url: str, expected: str) -> None:
    text = f"channel 'team' #1 ({url}): refused"
    masked = redact(text)
    assert "unl1sted" not in masked
    assert expected in masked
    assert masked.startswith("channel 'team' #1 (")
    assert masked.endswith("): refused")


@pytest.mark.parametrize(
    "text",
    [
        "monitor.yaml:4:10: channel 'team' URL #1 is not an apprise URL (no '://')",
        "Crawled (200) <GET https://www.autoguide.com/auto-news/2010/04/daimler-renault-alliance-2010.html>",
        "database sqlite:////tmp/pytest-of-root/pytest-12/test_x0/monitor.db at 12:35:27",
        "channel 'team' #1 (mailto): the service refused the message or could not be reached",
        "mailto:desk@news.example and json://hooks.example/api/v1/notifications",
    ],
)
def test_text_without_secrets_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_log_records_get_the_general_mask_too() -> None:
    with printed_at_info() as (logger, out):
        logger.warning("refused by mailto:user:%s@smtp.example?to=desk@news.example", "s3cr3t-canary-c1")
    assert "refused by mailto:user:***@smtp.example" in out.getvalue()
