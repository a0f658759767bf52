"""The quality checks' shortcuts answer as their plain definitions do.

Word characters are removed without the regex where it can be (``quality.word_chars``),
and the page's main block is read only when a body may be short next to it; neither may
change a key, a size or a verdict.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from monitor.parse.page import build_tree
from monitor.parse.quality import (
    PageSignals,
    _word_bytes,
    assess,
    key,
    main_block,
    size,
    word_chars,
    words_of,
)

_NON_WORD = re.compile(r"\W+")
SENTENCE = "The council approved the new budget for the harbour district after a long debate. "
#: ASCII punctuation, typographic quotes and spaces, accented and CJK letters, digits,
#: underscores, NUL and a lone surrogate: every kind of character the fast path sorts.
ALPHABET = st.sampled_from(
    [*" \t\n.,;:!?'\"-_/()[]@#x0\x00", "’", "—", "\u00a0", "é", "ß", "中", "٣", "\ud800"]
)


@given(st.text(alphabet=ALPHABET) | st.text())
def test_word_chars_is_the_regex(text: str) -> None:
    assert word_chars(text) == _NON_WORD.sub("", text)
    assert key(text) == _NON_WORD.sub("", text).casefold()
    assert size(text) == len(_NON_WORD.sub("", text))
    assert _word_bytes(text) >= size(text)  # the page's text bound


@given(st.lists(st.text(alphabet=ALPHABET) | st.text(), max_size=8))
def test_words_of_reads_each_text_apart(texts: list[str]) -> None:
    assert words_of(texts) == [_NON_WORD.sub("", text) for text in texts]


def signals(body: str, article_body: str | None = None) -> PageSignals:
    return PageSignals.of(build_tree(f"<html><body>{body}</body></html>"), article_body)


def test_the_text_bound_is_never_below_the_main_block() -> None:
    page = signals(
        "<nav><a href='/a'>Home</a> <a href='/b'>World <b>news</b></a></nav>"
        f"<article><p>{SENTENCE * 3}</p><ul><li>{SENTENCE}</li></ul><p>{SENTENCE * 2}</p></article>"
        f"<section class=comments><p>{SENTENCE}</p></section>"
    )
    assert page.text_bound >= page.block_size == size(main_block(page._tree)) > 0
    assert {"home", "worldnews"} <= page.link_texts


def test_a_long_body_is_passed_without_reading_the_main_block() -> None:
    page = signals(f"<article><p>{SENTENCE * 20}</p></article>")
    assert assess((SENTENCE * 20).strip(), page) is None
    assert page._block is None


def test_a_short_body_is_measured_against_the_main_block() -> None:
    page = signals(f"<article>{f'<p>{SENTENCE * 3}</p>' * 8}</article>")
    # One paragraph of the block: the block is this article, and far longer.
    problem = assess((SENTENCE * 3).strip(), page)
    assert problem == f"short: {size(SENTENCE * 3)} of {page.block_size} characters"
    assert page._block is not None
