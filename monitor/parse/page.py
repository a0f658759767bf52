"""HTML page to ``Article``: the one place where the parser's pieces are put together.

Steps: ``decode`` turns bytes into text (or refuses non-HTML), lxml builds the tree once,
``structured`` reads JSON-LD/OpenGraph/meta, per-source CSS ``selectors`` override any
field, ``body`` extracts the main text, and ``dates``/``authors``/``fields`` choose one
clean value per field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from lxml import etree
from lxml import html as lxml_html

from monitor.article import Article, clean_text
from monitor.errors import NoArticleText, ParseError
from monitor.parse.authors import choose_authors, clean_authors, page_bylines, ranked_bylines
from monitor.parse.body import extract_body, tidy
from monitor.parse.dates import first_date, page_dates, parse_date, text_date, url_date
from monitor.parse.decode import decode_html
from monitor.parse.fields import choose_language, choose_title, first, page_headings, squash
from monitor.parse.language import resolve_language
from monitor.parse.quality import Extraction
from monitor.parse.structured import Hints, collect_hints
from monitor.urls import canonical_url, host_of

SELECTOR_KEYS = frozenset({"title", "body", "authors", "published_at"})
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
#: Maps the C0 controls other than tab, newline and carriage return to NUL (and NUL to itself).
_CONTROL_TO_NUL = bytes(0 if byte < 0x20 and byte not in (9, 10, 13) else byte for byte in range(256))
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False, default_doctype=False)
# Every element is a plain ``HtmlElement``, chosen in C: lxml.html's own lookup calls a
# Python method for each element object created, a cost paid on every XPath result and
# tree walk here and in trafilatura; nothing here uses its form-specific element classes.
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=lxml_html.HtmlElement,
        comment=lxml_html.HtmlComment,
        pi=lxml_html.HtmlProcessingInstruction,
        entity=lxml_html.HtmlEntity,
    )
)


def parse_html(
    data: bytes | str,
    url: str | None = None,
    *,
    encoding: str | None = None,
    source: str | None = None,
    selectors: Mapping[str, str] | None = None,
) -> Article:
    """Turn one fetched HTML page into an ``Article``; ``ParseError`` if it holds none.

    ``encoding`` is the charset of the HTTP ``Content-Type`` header when known;
    ``selectors`` are per-source CSS overrides for "title", "body", "authors" and
    "published_at".
    """
    text = decode_html(data, encoding)
    tree = build_tree(text)
    hints = collect_hints(tree, url)
    found = _apply_selectors(tree, selectors or {})

    page_url = url or _first_absolute(hints.canonicals) or ""
    canonical_src = _first_absolute(hints.canonicals, base=page_url) or page_url
    canonical = _canonical(canonical_src, page_url)
    site_names = [*hints.site_names, _host(page_url)]

    headings = page_headings(tree)
    title = found.get("title") or choose_title(hints.titles, tree, site_names, headings)
    authors = _authors(tree, hints, found, site_names)
    published_at = _published(tree, hints, found, page_url)
    # Last: the body extraction prunes the tree in place.
    if found.get("body"):
        extraction = Extraction(found["body"], "selector")
    else:
        extraction = extract_body(
            tree,
            page_url or None,
            # The visible headline too: the chosen title may be a declared wording of it.
            titles=[title, *hints.titles, *headings[:1]],
            descriptions=hints.descriptions,
            authors=authors,
            markup=text,
            article_body=hints.article_body,
        )
    # What the Article keeps: a page whose text is only control characters holds none.
    title, body = clean_text(title).strip(), clean_text(extraction.text).strip()
    if not title and not body:
        raise NoArticleText("no title and no text found in the page")
    if not body:
        # Never an article without text: the caller records the failure and its reason.
        raise NoArticleText(f"no article text found ({extraction.problem or 'empty page'})")
    extra: dict[str, str] = {"extraction": extraction.method}
    if extraction.problem:
        extra["extraction_problem"] = extraction.problem
    if hints.article_type:
        extra["schema_type"] = hints.article_type

    return Article(
        url=page_url,
        canonical_url=canonical,
        title=title,
        body=body,
        authors=authors,
        published_at=published_at,
        modified_at=first_date(hints.modified),
        language=resolve_language(choose_language(hints.languages), f"{title}\n{body}"),
        description=first(hints.descriptions),
        section=first(hints.sections, limit=200),
        site_name=first(hints.site_names, limit=200),
        source=source,
        extra=extra,
    )


def parse_file(path: Path, url: str | None = None) -> Article:
    """Parse a saved page (``.html`` or ``.html.gz``; gzip is recognised by its bytes)."""
    return parse_html(Path(path).read_bytes(), url)


def build_tree(text: str) -> lxml_html.HtmlElement:
    """Parse ``text`` with lxml once; every later step reads this tree."""
    text = _XML_DECL.sub("", text, count=1)
    if _has_bad_chars(text):
        text = _BAD_CHARS.sub("", text)
    try:
        tree = lxml_html.document_fromstring(text, parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(f"unparsable HTML: {exc}") from None
    if tree is None or not len(tree):
        raise ParseError("empty HTML document")
    return tree


def _has_bad_chars(text: str) -> bool:
    """True when ``text`` holds characters lxml refuses; a bytes scan, far faster than the regex."""
    if "\ufffe" in text or "\uffff" in text:
        return True
    return 0 in text.encode("utf-8", "surrogatepass").translate(_CONTROL_TO_NUL)


def _canonical(candidate: str, page_url: str) -> str:
    """``canonical_url`` of the page's claim; a malformed claim falls back to the page URL."""
    for value in (candidate, page_url):
        if not value:
            continue
        try:
            return canonical_url(value, base=page_url or None)
        except ValueError:  # e.g. a non-numeric port in a publisher's og:url
            continue
    return ""


def _host(url: str) -> str:
    try:
        return host_of(url)
    except ValueError:
        return ""


def _first_absolute(values: list[str], base: str | None = None) -> str | None:
    for value in values:
        value = value.strip()
        if value.startswith(("http://", "https://")) or (base and value.startswith("/")):
            return value
    return None


def _apply_selectors(tree: lxml_html.HtmlElement, selectors: Mapping[str, str]) -> dict[str, str]:
    """Values picked by the source's own CSS selectors; they win over everything else."""
    found: dict[str, str] = {}
    for key, css in selectors.items():
        if key not in SELECTOR_KEYS or not css:
            continue
        try:
            elements = tree.cssselect(css)
        except Exception as exc:  # cssselect raises its own SelectorError family
            raise ParseError(f"bad CSS selector for {key!r}: {css!r} ({exc})") from None
        if not elements:
            continue
        if key == "body":
            parts = [squash(e.text_content()) for e in elements]
            paragraphs = [p for e in elements for p in _paragraphs(e)] or parts
            found[key] = tidy("\n\n".join(paragraphs))
        elif key == "published_at":
            element = elements[0]
            found[key] = element.get("datetime") or element.get("content") or squash(element.text_content())
        elif key == "authors":
            found[key] = "\n".join(squash(e.text_content()) for e in elements)
        else:
            found[key] = squash(elements[0].text_content())
    return found


def _paragraphs(element: lxml_html.HtmlElement) -> list[str]:
    blocks = element.xpath(".//p|.//h2|.//h3|.//li|.//blockquote")
    return [squash(b.text_content()) for b in blocks if squash(b.text_content())]


def _authors(
    tree: lxml_html.HtmlElement, hints: Hints, found: dict[str, str], site_names: list[str]
) -> tuple[str, ...]:
    if "authors" in found:
        return clean_authors(found["authors"].split("\n"), site_names)
    return choose_authors(
        hints.authors, lambda: page_bylines(tree), site_names, [lambda: ranked_bylines(tree)]
    )


def _published(tree: lxml_html.HtmlElement, hints: Hints, found: dict[str, str], url: str) -> datetime | None:
    if "published_at" in found:
        chosen = parse_date(found["published_at"])
        if chosen is not None:
            return chosen
    return (
        first_date(hints.published)
        or first_date(page_dates(tree))
        or url_date(url)
        or text_date(tree, url or None)
    )
