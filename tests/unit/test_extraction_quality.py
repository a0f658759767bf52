"""Extraction quality per source: when a source's pages start missing fields, and when they recover."""

from __future__ import annotations

import pytest

from monitor.crawl.quality import BASELINE, MIN_PAGES, SAMPLE, Page, Quality, degraded, judge, quality_notice

FULL = Page(body=True, date=True, author=True)
NO_DATE = Page(body=True, date=False, author=True)
NO_AUTHOR = Page(body=True, date=True, author=False)
NOTHING = Page(body=False, date=False, author=False)


def test_shares_count_the_pages_missing_each_field():
    quality = Quality.of([FULL, NO_DATE, NO_DATE, NOTHING])
    assert quality.pages == 4
    assert quality.share("date") == 0.75
    assert quality.share("body") == 0.25
    assert quality.share("author") == 0.25
    assert Quality.of([]).share("body") == 0.0


def test_judge_splits_the_newest_pages_from_the_baseline_before_them():
    pages = [NO_DATE] * SAMPLE + [FULL] * (BASELINE + 7)
    recent, baseline = judge(pages)
    assert (recent.pages, recent.share("date")) == (SAMPLE, 1.0)
    assert (baseline.pages, baseline.share("date")) == (BASELINE, 0.0)


@pytest.mark.parametrize(
    ("recent", "baseline", "expected"),
    [
        ([NO_DATE] * 20, [FULL] * 50, ["date"]),  # a redesign: the date is gone
        ([NOTHING] * 15 + [FULL] * 5, [FULL] * 50, ["body", "date", "author"]),
        ([NO_AUTHOR] * 20, [NO_AUTHOR] * 50, []),  # never had bylines: nothing changed
        ([NO_DATE] * 8 + [FULL] * 12, [FULL] * 50, []),  # 40 %: below the bar
        ([NO_DATE] * 20, [FULL] * (MIN_PAGES - 1), []),  # too little history to judge
        ([NO_DATE] * (MIN_PAGES - 1), [FULL] * 50, []),  # too few new pages
    ],
    ids=["date-lost", "articles-lost", "no-bylines-ever", "below-bar", "short-baseline", "short-sample"],
)
def test_degraded_fields_are_judged_against_the_sources_own_past(recent, baseline, expected):
    assert degraded(Quality.of(recent), Quality.of(baseline)) == expected


def test_one_notice_when_quality_drops_none_while_it_stays_low_one_when_it_recovers():
    good, bad = Quality.of([FULL] * 60), Quality.of([NO_DATE] * 20)
    state, notice = quality_notice("wire", "ok", bad, good)
    assert state == "degraded"
    assert notice is not None
    assert notice.title == "[monitor] source wire: extraction quality dropped (no date)"
    assert "100% without a date" in notice.body
    assert "0% without a date" in notice.body

    assert quality_notice("wire", "degraded", bad, good) == ("degraded", None)
    # Half recovered: not yet back (no message going out and back on one odd page).
    half = Quality.of([NO_DATE] * 6 + [FULL] * 14)
    assert quality_notice("wire", "degraded", half, good) == ("degraded", None)

    state, notice = quality_notice("wire", "degraded", Quality.of([FULL] * 20), good)
    assert state == "ok"
    assert notice is not None
    assert notice.title == "[monitor] source wire: extraction is back to normal"


def test_a_healthy_source_stays_ok_without_a_message():
    assert quality_notice("wire", "ok", Quality.of([FULL] * 20), Quality.of([FULL] * 60)) == ("ok", None)
