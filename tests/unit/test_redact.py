"""Log redaction: secrets masked in what handlers print, and nothing formatted that none prints."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from monitor.redact import protect

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
