"""The standfirst is part of the body, wherever the page prints it."""

from __future__ import annotations

from monitor.parse import parse_html
from monitor.parse.lead import with_lead

LEAD = "The harbour district gets its first new budget in ten years, and the opposition is furious."
TEXT = "".join(
    f"<p>Paragraph {i}: the council approved the new budget for the harbour district after a long debate "
    "that lasted well into the night, with amendments from every party.</p>"
    for i in range(6)
)


def page(deck: str) -> str:
    return (
        '<html lang="en"><head><title>Budget approved</title>'
        f'<meta property="og:description" content="{LEAD}">'
        f"</head><body><header><h1>Budget approved</h1>{deck}</header><article>{TEXT}</article></body></html>"
    )


def test_the_lead_outside_the_article_container_is_kept_first() -> None:
    article = parse_html(page(f'<p class="standfirst">{LEAD}</p>'), "https://news.example/a")
    assert article.body.startswith(LEAD + "\n\n")
    assert article.body.count(LEAD) == 1


def test_a_description_the_page_does_not_show_is_not_added() -> None:
    article = parse_html(page(""), "https://news.example/a")
    assert LEAD not in article.body


def test_a_cut_description_finds_the_whole_lead() -> None:
    html = page(f"<div class=deck><span>{LEAD}</span> More words of the deck.</div>").replace(
        f'content="{LEAD}"', f'content="{LEAD[:60]}…"'
    )
    article = parse_html(html, "https://news.example/a")
    assert article.body.startswith(LEAD)
    assert article.body.count(LEAD) == 1


def test_with_lead_does_not_repeat_a_lead_already_there() -> None:
    assert with_lead(f"{LEAD}\n\nText.", LEAD) == f"{LEAD}\n\nText."
    assert with_lead("Text.", LEAD) == f"{LEAD}\n\nText."
