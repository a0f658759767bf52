"""Canonical URLs: the identity of an article across feeds, sitemaps and listings.

courlan removes tracking parameters (utm_*, fbclid, gclid, ...), lowercases the host and
drops default ports; w3lib's ``canonicalize_url`` then sorts the query, resolves dot
segments, normalises percent-encoding and drops the fragment.
"""

from __future__ import annotations

import contextlib
from urllib.parse import urljoin, urlsplit

from courlan import normalize_url
from w3lib.url import canonicalize_url


def canonical_url(url: str, base: str | None = None) -> str:
    """Return the canonical form of ``url`` (made absolute against ``base`` first)."""
    url = url.strip()
    if base:
        url = urljoin(base, url)
    if urlsplit(url).scheme not in ("http", "https"):
        return url
    # courlan refuses some odd hosts; w3lib alone still normalises them.
    with contextlib.suppress(ValueError):
        url = normalize_url(url, strict=False)
    return str(canonicalize_url(url, keep_fragments=False))


def host_of(url: str) -> str:
    """The lowercase host of ``url`` without port, or an empty string."""
    return (urlsplit(url).hostname or "").lower()
