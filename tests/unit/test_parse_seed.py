"""The seed page: every article paragraph in the body, none of the page furniture."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.parse import parse_file, parse_html

PAGES = Path(__file__).parent.parent / "fixtures" / "pages"
SEED = Path(__file__).parents[3] / "shared" / "seeds" / "000_027ae69c3d8632c6.txt"
DEMO = (
    Path(__file__).parents[2]
    / "monitor/demo/site/autoguide/2010/04/daimler-renault-team-up-for-small-car-alliance.html"
)
URL = "https://www.autoguide.com/auto-news/2010/04/daimler-renault-team-up-for-small-car-alliance.html"

PARAGRAPHS = [
    "German automaker Daimler AG and French car manufacturer Renault have reportedly agreed",
    "Details of the deal are set to be announced tomorrow in Brussels",
    "According to a report by Automotive News Europe, the management boards",
    "Currently Daimler, parent company to Mercedes-Benz and Smart",
    "which is slated for global sales.",
    "The move is just the latest partnership to emerge in a post-recession auto industry",
    "expand into new markets.",
]
FURNITURE = [
    "With AutoGuide from its launch",
    "More by Colum Wood",
    "Comments",
    "Join the conversation",
    "Related Stories",
    "Newsletter",
    "Advertisement",
    "cookies",
    "All rights reserved",
]


def _pages() -> list[tuple[str, bytes, str]]:
    pages = [
        ("fixture", (PAGES / "autoguide-daimler-renault.html").read_bytes(), URL + "?utm_source=twitter")
    ]
    if DEMO.exists():
        base = "http://127.0.0.1:8000"
        raw = DEMO.read_text(encoding="utf-8").replace("{{base}}", base)
        pages.append(
            (
                "demo",
                raw.encode(),
                f"{base}/autoguide/2010/04/daimler-renault-team-up-for-small-car-alliance.html",
            )
        )
    return pages


@pytest.fixture(params=_pages(), ids=lambda page: page[0])
def seed(request):
    _, raw, url = request.param
    return parse_html(raw, url)


def test_body_holds_every_paragraph(seed):
    for paragraph in PARAGRAPHS:
        assert paragraph in seed.body


def test_body_holds_no_furniture(seed):
    for furniture in FURNITURE:
        assert furniture not in seed.body


def test_metadata(seed):
    assert seed.title == "Report: Daimler, Renault Team Up for Small Car Alliance"
    assert seed.authors == ("Colum Wood",)
    assert seed.published_at is not None
    assert seed.published_at.date() == datetime(2010, 4, 6, tzinfo=UTC).date()
    assert seed.language == "en"


def test_fixture_fields_exactly():
    article = parse_file(PAGES / "autoguide-daimler-renault.html", URL + "?utm_source=twitter&fbclid=abc")
    assert article.url == URL + "?utm_source=twitter&fbclid=abc"
    assert article.canonical_url == URL
    assert article.published_at == datetime(2010, 4, 6, 13, 30, tzinfo=UTC)
    assert article.modified_at == datetime(2010, 4, 6, 15, 2, tzinfo=UTC)
    assert article.section == "Auto News"
    assert article.site_name == "AutoGuide.com"
    assert article.description is not None
    assert article.description.startswith("German automaker Daimler AG")


def test_seed_text_matches_the_shared_seed():
    if not SEED.exists():
        pytest.skip("shared seed text not available")
    article = parse_file(PAGES / "autoguide-daimler-renault.html", URL)
    seed_lines = SEED.read_text(encoding="utf-8").splitlines()
    body_start = 5  # title, blank line, author twice, blank line
    expected = [line for line in seed_lines[body_start:] if line.strip()]
    expected = expected[: expected.index("[Source: Automotive News]") + 1]
    assert article.body.split("\n\n") == expected


def test_url_falls_back_to_canonical():
    article = parse_file(PAGES / "autoguide-daimler-renault.html")
    assert article.url == URL + "?utm_source=twitter&utm_medium=social"
    assert article.canonical_url == URL
