"""The ``Article``: the contract between the crawl side and everything after it.

No module after ``monitor.parse`` looks at HTML again; they all receive ``Article``s.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Article:
    """One normalised news article.

    Invariants (checked in ``__post_init__``): datetimes are timezone-aware UTC, the
    language is a lowercase ISO 639-1 code or None, authors are a tuple of names.
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
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
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
        if not isinstance(self.authors, tuple):
            object.__setattr__(self, "authors", tuple(self.authors))

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
