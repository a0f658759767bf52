"""Extraction quality per source: how many recent pages gave no body, no date, no author.

A site redesign rarely breaks a crawl. The pages still download and the crawl reports
success, but the parser now finds no date, or no byline, or nothing it can call an article,
and rules quietly stop matching that source. ``monitor status`` shows the shares of the
newest pages; the operator is told once when a source's shares jump above what the same
source did before (``quality_notice``), and once when they are back.

The shares are judged against the source's own past, not a fixed bar: many outlets never
name an author, and a press-release wire has no byline at all. A field counts as degraded
when at least ``DROP_SHARE`` of the newest ``SAMPLE`` pages miss it and that share is at
least ``DROP_SHARE`` above the share in the ``BASELINE`` pages before them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from monitor.crawl.health import Notice
from monitor.store.runs import extraction_record

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from monitor.store.models import SourceHealth

FIELDS = ("body", "date", "author")
SAMPLE = 20  # newest pages judged after each crawl
BASELINE = 100  # the pages before them: the source's usual quality
MIN_PAGES = 10  # fewer pages than this in either window: nothing is judged
DROP_SHARE = 0.5
# The reasons a page is recorded with when it gave no article at all (monitor.crawl.ingest).
NO_ARTICLE_REASONS = ("empty-body", "unparsable", "parse-error")


@dataclass(frozen=True, slots=True)
class Page:
    """What one fetched article page gave: a body (else it was a failure), a date, an author."""

    body: bool
    date: bool
    author: bool

    def has(self, field: str) -> bool:
        """Whether this page gave ``field`` (one of ``FIELDS``)."""
        return bool(getattr(self, field))


@dataclass(frozen=True, slots=True)
class Quality:
    """The shares of a run of pages that miss each field."""

    pages: int
    missing: dict[str, int]

    @classmethod
    def of(cls, pages: Sequence[Page]) -> Quality:
        """Count the pages that miss each field."""
        return cls(len(pages), {field: sum(not page.has(field) for page in pages) for field in FIELDS})

    def share(self, field: str) -> float:
        """The share of pages missing ``field``; 0 with no pages."""
        return self.missing[field] / self.pages if self.pages else 0.0


def degraded(recent: Quality, baseline: Quality) -> list[str]:
    """The fields whose missing share jumped from ``baseline`` to ``recent``."""
    if recent.pages < MIN_PAGES or baseline.pages < MIN_PAGES:
        return []
    return [
        field
        for field in FIELDS
        if recent.share(field) >= DROP_SHARE and recent.share(field) - baseline.share(field) >= DROP_SHARE
    ]


def judge(pages: Sequence[Page]) -> tuple[Quality, Quality]:
    """Split a source's pages, newest first, into the recent sample and its baseline."""
    return Quality.of(pages[:SAMPLE]), Quality.of(pages[SAMPLE : SAMPLE + BASELINE])


def quality_notice(
    source: str, previous: str, recent: Quality, baseline: Quality
) -> tuple[str, Notice | None]:
    """The source's new quality state (``ok`` or ``degraded``) and the notice a change causes.

    A degraded source stays degraded until its newest pages are about as complete as its
    baseline again, so one odd page does not make a message go out and back.
    """
    fields = degraded(recent, baseline)
    if previous == "degraded" and not fields:
        recovered = recent.pages >= MIN_PAGES and all(
            recent.share(field) - baseline.share(field) < DROP_SHARE / 2 for field in FIELDS
        )
        if not recovered:
            return previous, None
        title = f"[monitor] source {source}: extraction is back to normal"
        body = f"The newest {recent.pages} pages of {source} have {_shares(recent)}, as before."
        return "ok", Notice(source, "ok", previous, title, body)
    if not fields or previous == "degraded":
        return ("degraded" if fields else "ok"), None
    what = ", ".join(f"no {field}" for field in fields)
    title = f"[monitor] source {source}: extraction quality dropped ({what})"
    body = (
        f"Of the newest {recent.pages} pages of {source}, {_shares(recent, fields)}; "
        f"of the {baseline.pages} before them, {_shares(baseline, fields)}.\n\n"
        "The pages still download, so the site has probably changed its layout: save an "
        "article page, check it with `monitor parse PAGE.html`, and give the source CSS "
        "selectors if needed."
    )
    return "degraded", Notice(source, "degraded", previous, title, body)


def recent_pages(session: Session, source: str, limit: int = SAMPLE + BASELINE) -> list[Page]:
    """The newest ``limit`` article pages of ``source``, newest first."""
    return [Page(*page) for page in extraction_record(session, source, NO_ARTICLE_REASONS, limit)]


def record_quality(session: Session, health: SourceHealth) -> Notice | None:
    """Judge the source's newest pages after a crawl; the notice a change of state causes.

    ``health.quality_state`` is set to the new state; a caller that fails to deliver the
    notice puts ``notice.previous`` back, so the next crawl tries again.
    """
    recent, baseline = judge(recent_pages(session, health.source))
    state, notice = quality_notice(health.source, health.quality_state or "ok", recent, baseline)
    health.quality_state = state
    return notice


def _shares(quality: Quality, fields: Sequence[str] = FIELDS) -> str:
    return ", ".join(f"{quality.share(field):.0%} without a {_noun(field)}" for field in fields)


def _noun(field: str) -> str:
    return {"body": "body", "date": "date", "author": "byline"}[field]
