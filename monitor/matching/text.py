"""Words: how article text and query terms are cut and normalised.

Both sides go through ``normalise_word`` so that a query term and the text it should find
always agree: casefold (``Renault`` = ``renault``, ``ß`` = ``ss``), compatibility
decomposition with combining marks dropped (``Citroën`` = ``citroen``). A word is a run of
letters and digits; hyphens and apostrophes separate words, so ``Mercedes-Benz`` is the
two words ``mercedes benz`` and ``Land Rover's`` is ``land rover s``. A query term that
contains them becomes a phrase of those words, which is how "hyphens and apostrophes
inside names work" without a second tokeniser.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate, compress, count
from operator import add
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.article import Article

# Combining marks are not letters to ``re``; keep them inside a word so ``e`` + U+0301 stays
# one word and is normalised to ``e`` instead of splitting the word in two.
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
WORD = re.compile(rf"[^\W_][^\W_{_MARKS}]*")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")
# For ASCII text, bytes.translate + split does what _ASCII_WORD.findall(text.lower()) does,
# three times faster: letters lowercased, digits kept, everything else a separator.
_ASCII_TABLE = bytes((c | 0x20) if chr(c).isascii() and chr(c).isalnum() else 0x20 for c in range(256))

FIELDS = ("title", "body", "author", "url", "source")
DEFAULT_FIELDS = ("title", "body")

_cache: dict[str, str] = {}


def normalise_word(token: str) -> str:
    """Casefold, decompose, drop combining marks and anything that is not a letter or digit."""
    cached = _cache.get(token)
    if cached is not None:
        return cached
    if token.isascii():
        result = token.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", token.casefold())
        result = "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))
    if len(_cache) < 200_000:  # bounded: article text can hold any number of odd words
        _cache[token] = result
    return result


def words(text: str) -> list[str]:
    """The normalised words of ``text``, in order."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_TABLE).decode("ascii").split()
    return [normalise_word(token) for token in WORD.findall(text)]


def word_offsets(text: str) -> tuple[list[int], list[int]]:
    """Character starts and ends of each word of ``text``; index ``i`` is word ``i`` of ``words``."""
    if not text.isascii():
        spans = [match.span() for match in WORD.finditer(text)]
        return [start for start, _ in spans], [end for _, end in spans]
    # Split the translated text on single spaces: words and empty strings between repeated
    # separators, whose offsets are running sums. Twice as fast as a regex for news bodies.
    parts = text.encode("ascii").translate(_ASCII_TABLE).decode("ascii").split(" ")
    starts = list(compress(map(add, accumulate(map(len, parts), initial=0), count()), parts))
    return starts, list(map(add, starts, map(len, filter(None, parts))))


@dataclass(frozen=True, slots=True)
class Document:
    """An article cut into segments, each one field's words; nothing matches across segments.

    Title, body, URL and source are one segment each; every author is a segment of its own
    so that a phrase cannot run from one author's name into the next.
    """

    fields: tuple[str, ...]
    segments: tuple[tuple[str, ...], ...]
    texts: tuple[str, ...]
    _spans: dict[int, tuple[list[int], list[int]]] = field(default_factory=dict, compare=False, repr=False)

    def char_spans(self, segment: int) -> tuple[list[int], list[int]]:
        """Start and end character offsets of each word of one segment, computed once."""
        spans = self._spans.get(segment)
        if spans is None:
            spans = self._spans[segment] = word_offsets(self.texts[segment])
        return spans

    @classmethod
    def from_fields(
        cls,
        title: str = "",
        body: str = "",
        authors: Iterable[str] = (),
        url: str = "",
        source: str = "",
    ) -> Document:
        """Build from plain strings (tests, the CLI's JSON input)."""
        parts = [("title", title), ("body", body)]
        parts.extend(("author", author) for author in authors)
        parts.extend([("url", url), ("source", source)])
        return cls(
            fields=tuple(name for name, _ in parts),
            segments=tuple(tuple(words(text)) for _, text in parts),
            texts=tuple(text for _, text in parts),
        )

    @classmethod
    def from_article(cls, article: Article) -> Document:
        """Build from an ``Article``; ``url`` is the canonical URL when there is one."""
        return cls.from_fields(
            title=article.title or "",
            body=article.body or "",
            authors=article.authors,
            url=article.canonical_url or article.url or "",
            source=article.source or "",
        )
