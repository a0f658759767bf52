"""``empty_body``: the words of a body's prefix settle it, and agree with counting them all."""

from __future__ import annotations

import pytest

from monitor.crawl.ingest import _WORDS_PREFIX, MIN_BODY_CHARACTERS, MIN_BODY_WORDS, empty_body
from monitor.matching.text import words


def reference(body: str) -> bool:
    """The definition: too few words and too few letters and digits."""
    if len(words(body)) >= MIN_BODY_WORDS:
        return False
    return sum(character.isalnum() for character in body) < MIN_BODY_CHARACTERS


@pytest.mark.parametrize(
    "body",
    [
        "",
        "Accept cookies to continue.",
        "word " * (MIN_BODY_WORDS - 1),
        "word " * MIN_BODY_WORDS,
        "x" * 5_000,  # one long word, plenty of letters
        "-" * (_WORDS_PREFIX + 10) + " word" * MIN_BODY_WORDS,  # the words come after the prefix
        "w" * (_WORDS_PREFIX - 2) + " two" + " more" * (MIN_BODY_WORDS - 1),  # a word cut by the prefix
        "日本語の記事です。" * 50,  # few "words", many letters
        "Citroën, Škoda и Лада " * 3,
        "Ein Satz mit Wörtern. " * 200,
    ],
)
def test_empty_body_agrees_with_counting_every_word(body: str) -> None:
    assert empty_body(body) == reference(body)
