"""A failed extraction is detected and replaced, or reported: never an article lost silently."""

from __future__ import annotations

import json

import pytest

from monitor.errors import ParseError
from monitor.parse import parse_html
from monitor.parse.fallback import choose
from monitor.parse.page import build_tree
from monitor.parse.quality import PageSignals, assess, is_hard, main_block

SENTENCE = "The council approved the new budget for the harbour district after a long debate. "
PARAGRAPH = f"<p>{SENTENCE * 3}</p>"


def paragraphs(count: int) -> str:
    """Distinct paragraphs (extractors drop repeated ones)."""
    return "".join(f"<p>Paragraph {i} says: {SENTENCE * 3}</p>" for i in range(count))


MENU = "".join(f'<li><a href="/s{i}">Section number {i}</a></li>' for i in range(12))


def signals(body: str, article_body: str | None = None) -> PageSignals:
    return PageSignals.of(build_tree(f"<html><body>{body}</body></html>"), article_body)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty"),
        ("Budget approved\n\nBudget approved", "only-title"),
        ("\n".join(f"Section number {i}" for i in range(12)), "menu"),
        ((SENTENCE * 3).strip(), "short"),
        ((SENTENCE * 20).strip(), None),
    ],
)
def test_assess(text: str, expected: str | None) -> None:
    page = signals(f"<nav><ul>{MENU}</ul></nav><article>{PARAGRAPH * 8}</article>")
    problem = assess(text, page, ["Budget approved"])
    assert (problem or "").split(":")[0] == (expected or "")


def test_a_short_body_beside_a_comment_thread_is_not_short() -> None:
    # The page's biggest block does not hold the extracted text: it is no reference.
    page = signals(f"<article><p>{SENTENCE}</p></article><section class=comments>{PARAGRAPH * 10}</section>")
    assert assess(SENTENCE.strip(), page) is None


def test_main_block_reads_an_article_cut_into_containers() -> None:
    parts = "".join(
        f"<div class=grid><div class=content>{PARAGRAPH}</div><div class=ad>Ad</div></div>" for _ in range(6)
    )
    block = main_block(build_tree(f"<html><body><article>{parts}</article></body></html>"))
    assert block.count(SENTENCE.strip()) == 18


def test_fallback_chosen_when_the_main_extraction_is_only_the_title() -> None:
    page = signals(f"<article>{PARAGRAPH * 8}</article>")
    alternatives = [("trafilatura-full", lambda: "Budget approved"), ("main-block", lambda: page.block_text)]
    chosen = choose(("trafilatura", "Budget approved"), alternatives, page, ["Budget approved"])
    assert chosen.method == "main-block"
    assert chosen.problem == "trafilatura rejected (only-title)"
    assert chosen.text.startswith(SENTENCE.strip())


def test_a_sound_main_extraction_is_kept_without_trying_others() -> None:
    page = signals(f"<article>{PARAGRAPH * 8}</article>")

    def fail() -> str:
        raise AssertionError("alternatives must not run")

    chosen = choose(("trafilatura", page.block_text), [("x", fail)], page)
    assert (chosen.method, chosen.problem) == ("trafilatura", None)


def test_every_candidate_failing_gives_an_empty_text_and_the_reasons() -> None:
    page = signals(f"<nav><ul>{MENU}</ul></nav>")
    chosen = choose(("trafilatura", ""), [("json-ld", lambda: "Title")], page, ["Title"])
    assert chosen.text == ""
    assert chosen.problem == "trafilatura: empty; json-ld: only-title"
    assert is_hard("menu")
    assert not is_hard("short: 1 of 2 characters")


def test_json_ld_article_body_replaces_a_title_only_page() -> None:
    data = {"@type": "NewsArticle", "headline": "Budget approved", "articleBody": SENTENCE * 12}
    page = (
        f'<html><head><title>Budget approved</title><script type="application/ld+json">{json.dumps(data)}'
        '</script></head><body><h1>Budget approved</h1><div id="app"></div></body></html>'
    )
    article = parse_html(page, "https://news.example/a")
    # trafilatura reads the JSON-LD itself; either way the text is found and its origin named.
    assert article.body.startswith(SENTENCE.strip())
    assert article.extra["extraction"] in {"trafilatura", "json-ld"}


def test_an_article_inside_an_unclosed_aside_is_kept() -> None:
    page = (
        '<html><body><div id=main><aside class="secondary"><nav><ul>'
        f"{MENU}</ul></nav><article><h1>Budget approved</h1>{paragraphs(6)}</article></div></body></html>"
    )
    article = parse_html(page, "https://news.example/a")
    assert article.body.count(SENTENCE.strip()) == 18
    assert article.extra["extraction"] == "trafilatura"


def test_a_page_without_article_text_is_a_parse_failure_with_a_reason() -> None:
    page = (
        "<html><head><title>Budget approved</title></head>"
        f"<body><h1>Budget approved</h1><ul>{MENU}</ul></body></html>"
    )
    with pytest.raises(ParseError, match=r"no article text found \(.+\)"):
        parse_html(page, "https://news.example/a")
