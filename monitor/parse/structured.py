"""Structured metadata: JSON-LD, OpenGraph, Twitter cards, Dublin Core and plain meta tags.

Publishers fill these for search engines and social networks, so they are the most
trustworthy source of title, authors, dates, section and canonical URL; the visible page
is only consulted (by the other modules) when they are silent. Parsing is plain ``json``
and lxml; nothing here guesses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import html as lxml_html

#: schema.org types whose node describes the article itself.
_ARTICLE_TYPES = frozenset({"blogposting", "liveblogposting", "report", "socialmediaposting", "posting"})
_PAGE_TYPES = frozenset({"webpage", "itempage", "collectionpage"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_MAX_JSONLD = 2_000_000
_MAX_NODES = 5_000


@dataclass(slots=True)
class Hints:
    """Candidate values for each field, most trusted first, as found in the page's markup."""

    titles: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    descriptions: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    canonicals: list[str] = field(default_factory=list)
    site_names: list[str] = field(default_factory=list)
    #: JSON-LD ``articleBody`` when the publisher ships the full text.
    article_body: str | None = None
    #: the schema.org type of the article node, e.g. "NewsArticle".
    article_type: str | None = None
    #: True when the page declares itself an article (og:type or JSON-LD type).
    is_article: bool = False


def collect_hints(tree: lxml_html.HtmlElement, url: str | None = None) -> Hints:
    """Gather every structured hint of ``tree`` into one ``Hints``.

    One walk finds the scripts, meta and link tags: lxml visits every element of the page
    on each walk, whatever it is looking for, so three walks cost three times one.
    """
    found: dict[str, list[lxml_html.HtmlElement]] = {"script": [], "meta": [], "link": []}
    for element in tree.iter(*found):
        found[element.tag].append(element)
    hints = Hints()
    _from_json_ld(found["script"], hints, url)
    _from_meta(found["meta"], hints)
    _from_links(found["link"], hints)
    lang = tree.get("lang") or tree.get("xml:lang")
    if lang:
        hints.languages.append(lang)
    return hints


# --- JSON-LD -------------------------------------------------------------------------


def _from_json_ld(scripts: list[lxml_html.HtmlElement], hints: Hints, url: str | None) -> None:
    articles: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    by_id: dict[str, dict[str, Any]] = {}
    for script in scripts:
        kind = (script.get("type") or "").lower()
        if "ld+json" not in kind or not script.text:
            continue
        data = load_json_ld(script.text)
        for node in _walk(data):
            ident = node.get("@id")
            if isinstance(ident, str):
                by_id.setdefault(ident, node)
            types = {t.lower() for t in _types(node)}
            if any(t.endswith("article") or t in _ARTICLE_TYPES for t in types):
                articles.append(node)
            elif types & _PAGE_TYPES:
                pages.append(node)
    article = _pick_article(articles, url)
    if article is not None:
        hints.is_article = True
        hints.article_type = next(iter(_types(article)), None)
        _read_node(article, hints, by_id, with_body=True)
    for page in pages:
        _read_node(page, hints, by_id, with_body=False, titles=False)


def load_json_ld(text: str) -> Any:
    """Parse one JSON-LD script, forgiving the usual publisher mistakes; None if hopeless."""
    text = text.strip()[:_MAX_JSONLD]
    if text.startswith("<!--"):
        text = text[4:]
    if text.endswith("-->"):
        text = text[:-3]
    text = text.strip().removeprefix("//<![CDATA[").removesuffix("//]]>").strip().rstrip(";")
    for attempt in (text, _TRAILING_COMMA.sub(r"\1", _CONTROL.sub(" ", text))):
        try:
            return json.loads(attempt, strict=False)
        except (ValueError, RecursionError):
            continue
    return None


def _walk(data: Any) -> Iterator[dict[str, Any]]:
    """Every dict node of a JSON-LD document, breadth first, including ``@graph`` members."""
    queue: list[Any] = [data]
    seen = 0
    while queue and seen < _MAX_NODES:
        item = queue.pop(0)
        seen += 1
        if isinstance(item, list):
            queue.extend(item)
        elif isinstance(item, dict):
            yield item
            for key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement", "hasPart"):
                child = item.get(key)
                if isinstance(child, dict | list):
                    queue.append(child)


def _types(node: dict[str, Any]) -> list[str]:
    value = node.get("@type")
    if isinstance(value, str):
        return [value.rsplit("/", 1)[-1]]
    if isinstance(value, list):
        return [v.rsplit("/", 1)[-1] for v in value if isinstance(v, str)]
    return []


def _pick_article(articles: list[dict[str, Any]], url: str | None) -> dict[str, Any] | None:
    """The node about this page: one whose URL is ours, else the first with a headline."""
    if not articles:
        return None
    if url:
        bare = url.split("?")[0].rstrip("/")
        for node in articles:
            for key in ("url", "mainEntityOfPage", "@id"):
                value = node.get(key)
                if isinstance(value, dict):
                    value = value.get("@id") or value.get("url")
                if isinstance(value, str) and value.split("?")[0].split("#")[0].rstrip("/") == bare:
                    return node
    for node in articles:
        if node.get("headline") or node.get("name"):
            return node
    return articles[0]


def _read_node(
    node: dict[str, Any],
    hints: Hints,
    by_id: dict[str, dict[str, Any]],
    *,
    with_body: bool,
    titles: bool = True,
) -> None:
    if titles:
        hints.titles.extend(_strings(node.get("headline")) + _strings(node.get("name")))
    hints.published.extend(_strings(node.get("datePublished")) + _strings(node.get("dateCreated")))
    hints.modified.extend(_strings(node.get("dateModified")))
    hints.descriptions.extend(_strings(node.get("description")))
    hints.sections.extend(_strings(node.get("articleSection")))
    hints.languages.extend(_strings(node.get("inLanguage")))
    for key in ("author", "creator"):
        hints.authors.extend(_people(node.get(key), by_id))
    publisher = _resolve(node.get("publisher"), by_id)
    if isinstance(publisher, dict):
        hints.site_names.extend(_strings(publisher.get("name")))
    if with_body:
        body = node.get("articleBody") or node.get("text")
        if isinstance(body, str) and body.strip():
            hints.article_body = body


def _resolve(value: Any, by_id: dict[str, dict[str, Any]]) -> Any:
    if isinstance(value, dict) and set(value) <= {"@id", "@type"} and isinstance(value.get("@id"), str):
        return by_id.get(value["@id"], value)
    return value


def _people(value: Any, by_id: dict[str, dict[str, Any]]) -> list[str]:
    if isinstance(value, list):
        return [name for item in value[:50] for name in _people(item, by_id)]
    value = _resolve(value, by_id)
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str):
            return [name]
        parts = [value.get("givenName"), value.get("familyName")]
        joined = " ".join(p for p in parts if isinstance(p, str))
        return [joined] if joined else []
    return []


def _strings(value: Any) -> list[str]:
    """String values of a JSON-LD property, whatever shape the publisher gave it."""
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list):
        return [s for item in value[:20] for s in _strings(item)]
    if isinstance(value, dict):
        for key in ("name", "@value", "url", "@id"):
            if isinstance(value.get(key), str):
                return _strings(value[key])
    return []


# --- meta and link tags ----------------------------------------------------------------

_META_FIELDS: dict[str, tuple[str, ...]] = {
    "titles": ("og:title", "twitter:title", "parsely-title", "sailthru.title", "dc.title", "title"),
    "authors": (
        "author",
        "article:author",
        "parsely-author",
        "sailthru.author",
        "dc.creator",
        "byl",
        "citation_author",
        "twitter:creator",
    ),
    "published": (
        "article:published_time",
        "og:article:published_time",
        "datepublished",
        "parsely-pub-date",
        "sailthru.date",
        "publish-date",
        "publish_date",
        "pubdate",
        "date",
        "dc.date",
        "dc.date.issued",
        "dcterms.created",
        "dcterms.date",
        "dc.date.created",
        "article.published",
        "originalpublicationdate",
        "citation_publication_date",
        "cxenseparse:recs:publishtime",
        "og:published_time",
        "published_time",
    ),
    "modified": ("article:modified_time", "og:updated_time", "datemodified", "dcterms.modified", "lastmod"),
    "descriptions": ("og:description", "description", "twitter:description", "dc.description"),
    "sections": ("article:section", "parsely-section", "section", "category", "cxenseparse:section"),
    "languages": ("og:locale", "content-language", "language", "dc.language", "inlanguage"),
    "canonicals": ("og:url", "twitter:url", "parsely-link"),
    "site_names": ("og:site_name", "application-name", "publisher", "twitter:site"),
}


def _from_meta(metas: list[lxml_html.HtmlElement], hints: Hints) -> None:
    found: dict[str, list[str]] = {}
    for meta in metas:
        content = meta.get("content")
        if content is None:
            content = meta.get("datetime") or meta.get("value")
        if not content or not content.strip():
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = meta.get(attr)
            if key:
                found.setdefault(key.strip().lower(), []).append(content.strip())
    meta_titles: set[str] = set()
    for slot, keys in _META_FIELDS.items():
        target: list[str] = getattr(hints, slot)
        for key in keys:
            values = found.get(key, [])
            if slot == "titles":
                # A Twitter card or a meta name="title" copying og:title is one declaration
                # (twitter:title falls back to og:title); counted twice it would outvote
                # the page's other titles when ``fields.choose_title`` counts them.
                values = [v for v in values if v not in meta_titles]
                meta_titles.update(values)
            target.extend(values)
    og_type = (found.get("og:type") or [""])[0].lower()
    if og_type == "article" or "article:published_time" in found:
        hints.is_article = True


def _from_links(links: list[lxml_html.HtmlElement], hints: Hints) -> None:
    for link in links:
        rel = (link.get("rel") or "").lower().split()
        href = (link.get("href") or "").strip()
        if "canonical" in rel and href:
            hints.canonicals.insert(0, href)
