"""The ``Article``: the contract between the crawl side and everything after it.

No module after ``monitor.parse`` looks at HTML again; they all receive ``Article``s.
Every text field of an ``Article`` is clean enough for either database (``clean_text``):
a lone surrogate (what a JSON-LD ``"\\ud800"`` escape decodes to) cannot be encoded as
UTF-8 and a NUL is refused by PostgreSQL, so one hostile field would otherwise lose the
page, or the worker storing it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# C0 controls but tab, newline and carriage return (NUL among them), and UTF-16 surrogates:
# no text a reader needs, and what the databases or the UTF-8 encoder refuse.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]+")
_SURROGATES = re.compile("[\ud800-\udfff]")
_UNCLEAN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
_TEXT_FIELDS = ("url", "canonical_url", "title", "body", "description", "section", "site_name", "source")


def clean_text(text: str) -> str:
    """``text`` without control characters (tab, CR, LF kept) and with U+FFFD for each lone surrogate.

    A surrogate is replaced rather than dropped so that the reader sees something was
    there, as a UTF-8 decoder shows an invalid byte; controls are dropped, as the parser
    drops them from the HTML it reads. Text that is already clean is returned as is,
    after one regex scan.
    """
    if _UNCLEAN.search(text) is None:
        return text
    return _SURROGATES.sub("\ufffd", _CONTROLS.sub("", text))


@dataclass(frozen=True, slots=True)
class Article:
    """One normalised news article.

    Invariants (checked in ``__post_init__``): datetimes are timezone-aware UTC, the
    language is a lowercase ISO 639-1 code or None, authors are a tuple of names, and
    every text field has been through ``clean_text``.
    """

    url: str
    canonical_url: str
    title: str
    body: str
    authors: tuple[str, ...] = ()
    published_at: datetime | None = None
    modified_at: datetime | None = None
    language: str | None = None
    description: str | None = None
    section: str | None = None
    site_name: str | None = None
    source: str | None = None
    # Other addresses the page was reached by: the feed or listing link and the redirects
    # before ``url``. Stored so that the next crawl knows them too (``store.known_urls``).
    links: tuple[str, ...] = field(default=(), compare=False)
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str) and _UNCLEAN.search(value) is not None:
                object.__setattr__(self, name, clean_text(value))
        for name in ("published_at", "modified_at"):
            value = getattr(self, name)
            if value is None:
                continue
            if value.tzinfo is None:
                raise ValueError(f"Article.{name} must be timezone-aware, got {value!r}")
            if value.utcoffset() != UTC.utcoffset(None):
                object.__setattr__(self, name, value.astimezone(UTC))
        if self.language is not None and (len(self.language) != 2 or not self.language.islower()):
            raise ValueError(f"Article.language must be an ISO 639-1 code, got {self.language!r}")
        for name in ("authors", "links"):
            values = getattr(self, name)
            cleaned = tuple(clean_text(value) for value in values)
            if cleaned != values or not isinstance(values, tuple):
                object.__setattr__(self, name, cleaned)

    def replace(self, **changes: Any) -> Article:
        """Return a copy with some fields changed (the dataclass stays frozen)."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready dict: datetimes as ISO 8601 UTC with a ``Z``."""
        data: dict[str, Any] = {
            "url": self.url,
            "canonical_url": self.canonical_url,
            "title": self.title,
            "authors": list(self.authors),
            "published_at": _iso(self.published_at),
            "modified_at": _iso(self.modified_at),
            "language": self.language,
            "description": self.description,
            "section": self.section,
            "site_name": self.site_name,
            "source": self.source,
            "body": self.body,
        }
        data.update(self.extra)
        return data


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
