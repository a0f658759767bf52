"""Language of a page's text, identified by CLD2 (Chrome's Compact Language Detector 2, ``pycld2``).

CLD2 does the heavy lifting: a compact n-gram model compiled into the extension that tells
Bulgarian from Russian, Romanian from Portuguese, knows Finnish, and does not call a Chinese
text Japanese for one "・". It needs no download, holds about 8 MB, and classifies a page's
sample in about a tenth of a millisecond. py3langid (the langid.py model) agreed with it on
every page of the fundus-dev set (127 pages, 20+ languages) but held about 100 MB in every
process that parses and took seven times as long, so CLD2 was chosen.

A detection counts as confident when CLD2 calls it reliable and gives the language most of
the text; then ``page`` trusts it over a publisher's declaration (``inLanguage: "kr"`` on a
Korean page, a site-wide ``<html lang="en">`` on a German article).
"""

from __future__ import annotations

import pycld2

_SAMPLE = 3000
#: Fewer letters than this are too little to identify a language with.
_MIN_LETTERS = 20
#: A reliable detection that covers at least this share of the text wins over a declaration.
CONFIDENT = 0.80
#: CLD2's codes that are not today's ISO 639-1 ones, and its script variants.
_ISO = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv", "zh-Hant": "zh", "sr-ME": "sr", "mo": "ro"}


def identify(text: str) -> tuple[str, float] | None:
    """The ISO 639-1 code of ``text`` and how much of it is in that language, or None.

    None for too little text, or when CLD2 finds no known language in it.
    """
    sample = text[:_SAMPLE]
    if not _has_letters(sample, _MIN_LETTERS):
        return None
    try:  # a lone surrogate cannot be UTF-8: it becomes "?" rather than an error
        reliable, _size, found = pycld2.detect(sample.encode("utf-8", "replace"))
    except pycld2.error:  # text CLD2 refuses: no opinion
        return None
    name, code, percent, _score = found[0]
    if code in ("un", "xx") or name == "Unknown":
        return None
    code = _ISO.get(code, code)
    share = percent / 100 if reliable else min(percent / 100, CONFIDENT / 2)
    return code, share


def _has_letters(text: str, count: int) -> bool:
    """True when ``text`` holds at least ``count`` letters.

    Counted with ``map`` (C speed); the first few hundred characters settle it for nearly
    every page, so the whole sample is counted only when they do not.
    """
    return sum(map(str.isalpha, text[: 10 * count])) >= count or sum(map(str.isalpha, text)) >= count


def detect_language(text: str) -> str | None:
    """An ISO 639-1 code for ``text``, or None when the sample is too short or unknown."""
    found = identify(text)
    return found[0] if found else None


def resolve_language(declared: str | None, text: str) -> str | None:
    """The declared language, unless a confident detection of ``text`` says otherwise."""
    found = identify(text)
    if found is None:
        return declared
    code, share = found
    if declared is None or (code != declared and share >= CONFIDENT):
        return code if len(code) == 2 else declared
    return declared
