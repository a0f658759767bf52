"""The article body: the main text of the page, without navigation, bios or comments.

Three steps, each general rather than tuned to one site:

1. ``prune_hidden`` removes what a reader never sees (``hidden``, ``display:none``,
   tooltip/hover cards), which extractors otherwise glue into sentences; the tree is
   then put in the shape trafilatura reads well: ruby readings as base（reading）
   (``spell_out_ruby``), layout tables as divs (``unwrap_layout_tables``), a paragraph
   written straight into a section as a ``<p>`` (``wrap_loose_text``).
2. trafilatura extracts the main text from the tree ``monitor.parse`` already built (it
   accepts an lxml tree, so the page is parsed once), in its fast mode without comments:
   on news pages its slower fallbacks (readability, jusText) add time, not accuracy.
   It is the parser's main cost, so ``strip_unread`` first removes, with lxml's C-level
   ``strip_elements``, what every trafilatura stage deletes unread (scripts, styles, SVG,
   asides, footers): each of its XPath passes and tree copies then walks a smaller tree,
   and the text it extracts stays the same.
3. ``clean_lines`` drops what trafilatura keeps but a body never holds: the headline and
   byline repeated at the top, furniture lines ("Read more:", "Sign up for our
   newsletter", copyright notices, unrendered shortcodes) in the main newsroom languages,
   breadcrumbs above the headline, teaser lists (``boilerplate.drop_teasers``: runs of
   lines that are each a link's whole text) and the contact notes ending the body
   (``boilerplate.drop_contact_tail``); ``split.continuation`` appends the part of a body
   the template split off around an ad.
4. ``quality``/``fallback`` check the text against the page and replace a failed
   extraction; ``lead`` puts the visible standfirst first when the extractor left it out.

When nothing is extracted from a tree that holds almost no text (libxml2 drops what is
nested deeper than 255 levels), ``markup_text`` reads the paragraphs from the markup.
"""

from __future__ import annotations

import copy
import html as html_lib
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import replace
from itertools import islice

from lxml import etree
from lxml import html as lxml_html

from monitor.parse.authors import is_byline
from monitor.parse.boilerplate import drop_contact_tail, drop_teasers, is_furniture
from monitor.parse.fallback import choose
from monitor.parse.lead import find_lead, with_lead
from monitor.parse.quality import OVERLAP, Extraction, PageSignals, assess, is_hard, key, overlap
from monitor.parse.split import continuation

with warnings.catch_warnings():
    # trafilatura's downloader probes for optional SOCKS support; we never download with it.
    warnings.simplefilter("ignore")
    import trafilatura
    from trafilatura.settings import Extractor

#: trafilatura's settings, built once (each ``extract`` call would otherwise re-read its
#: configuration): fast mode, no comments, tables kept, plain text.
_EXTRACTOR = Extractor(
    output_format="txt",
    fast=True,
    comments=False,
    tables=True,
    images=False,
    dedup=False,
    with_metadata=False,
)

_BLANK_LINES = re.compile(r"\n\s*\n+")
#: Spaces that ``tidy`` turns into plain ones (runs of them become one).
_SPACES = ("\t", "\u00a0", "\u2009", "\u202f")
_INVISIBLE = re.compile(
    r"<(script|style|noscript|template|svg|head)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
_BLOCK_TAG = re.compile(r"<(?:/?(?:p|div|h[1-6]|li|br|tr|section|article|blockquote)\b)[^>]*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^>]{0,2000}>")
#: Elements trafilatura deletes, subtree and all, before every read of the tree (see
#: ``strip_unread``); scripts other than JSON-LD and the ``<head>`` are handled apart.
_UNREAD = ("style", "svg", "aside", "footer", "fencedframe")
#: An aside or footer with more than this share of the page's paragraph text wraps the article.
_WRAPPER_SHARE = 0.75
#: Lines at most dropped from the top of a body (breadcrumbs, headline, byline).
_TOP_LINES = 8
#: A breadcrumb or section link has at most this many words.
_BREADCRUMB_WORDS = 5
#: A breadcrumb, kicker or section label above the headline has at most this many words.
_LABEL_WORDS = 8
#: A tree with less text than this after extraction failed lost its text to libxml2.
_SPARSE_TREE = 200
#: Classes of tooltips and hover cards, which readers see only on demand.
_HOVER_WORDS = ("tooltip", "popover", "hovercard", "rollover")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def extract_body(
    tree: lxml_html.HtmlElement,
    url: str | None = None,
    *,
    titles: Iterable[str] = (),
    descriptions: Iterable[str] = (),
    authors: Iterable[str] = (),
    markup: str | None = None,
    article_body: str | None = None,
) -> Extraction:
    """The main text of ``tree`` as paragraphs separated by blank lines, and how it was found.

    trafilatura's fast mode runs first; ``quality.assess`` checks its text against the page
    (empty, only the title, a menu, far shorter than the main text block or the JSON-LD
    ``articleBody``) and only then are the alternatives tried and ranked
    (``fallback.choose``). An empty text means every candidate failed: ``problem`` says why.
    ``markup`` is the page's source: when nothing is extracted and the tree holds almost
    no text, ``markup_text`` reads the paragraphs from it instead. ``tree`` is pruned in
    place: call this after every other field has been read.
    """
    prune_hidden(tree)
    spell_out_ruby(tree)
    unwrap_layout_tables(tree)
    wrap_loose_text(tree)
    sparse = markup is not None and not _has_text(tree, _SPARSE_TREE)
    strip_unread(tree)
    titles, descriptions, authors = list(titles), list(descriptions), list(authors)
    own_url = (url or "").rstrip("/")

    def run(**changes: object) -> str:
        options = copy.copy(_EXTRACTOR)
        for name, value in changes.items():
            setattr(options, name, value)
        options.url = url
        options.source = url and url.encode("utf-8", "replace").decode("utf-8")  # as Extractor() does
        text = trafilatura.extract(tree, options=options)
        lines = clean_lines((text or "").splitlines(), tree, titles, descriptions, authors, page.link_texts)
        # The page's own address on a line of its own is a share widget's.
        return tidy("\n\n".join(line for line in lines if not own_url or line.rstrip("/") != own_url))

    page = PageSignals.of(tree, article_body)
    main = run()
    if not main and sparse and markup is not None:
        return Extraction(markup_text(markup), "markup")
    alternatives: list[tuple[str, Callable[[], str]]] = [
        ("trafilatura-full", lambda: run(fast=False)),
        ("trafilatura-recall", lambda: run(fast=False, focus="recall")),
        ("trafilatura-precision", lambda: run(fast=False, focus="precision")),
        ("json-ld", lambda: tidy(article_body or "")),
        ("main-block", lambda: tidy(page.block_text) if _block_fits(main, page, titles) else ""),
        ("description", lambda: tidy(next((d for d in descriptions if d.strip()), ""))),
    ]
    chosen = choose(("trafilatura", main), alternatives, page, titles)
    if not chosen.text:
        return chosen
    if chosen.method == "trafilatura":
        rest = continuation(chosen.text, tree)
        if rest:
            chosen = replace(chosen, text=tidy(f"{chosen.text}\n\n{rest}"))
    chosen = replace(chosen, text=drop_contact_tail(drop_teasers(chosen.text, page.link_texts)))
    # The standfirst belongs to the article even when it sits outside the extracted block.
    return replace(chosen, text=with_lead(chosen.text, find_lead(tree, descriptions)))


def _block_fits(main: str, page: PageSignals, titles: list[str]) -> bool:
    """True when the main block may stand for the article: ``main`` is no article, or part of it.

    A block that does not hold the text trafilatura found is often a comment thread.
    """
    lines = [line for line in main.splitlines() if line.strip()]
    return is_hard(assess(main, page, titles)) or overlap(lines, page.block_keys) >= OVERLAP


def _has_text(tree: lxml_html.HtmlElement, chars: int) -> bool:
    """True when ``tree`` holds at least ``chars`` characters of text (stops as soon as it does)."""
    total = 0
    for text in tree.itertext():
        total += len(text)
        if total >= chars:
            return True
    return False


def prune_hidden(tree: lxml_html.HtmlElement) -> None:
    """Remove elements that the publisher hides from readers (keeping their tails).

    The candidates' styles are confirmed here: ``text-decoration:none`` is visible.
    """
    for element in _hidden_candidates(tree):
        if element.tag in ("html", "body", "main", "article") or element.getparent() is None:
            continue
        style = element.get("style")
        if style is not None and not _HIDDEN_STYLE.search(style) and not _hidden_by_other_means(element):
            continue
        element.drop_tree()


def _hidden_candidates(tree: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    """Elements with a ``hidden`` attribute, ``aria-hidden="true"``, a style that may hide them
    or a tooltip-like class, in document order.

    One walk with attribute reads beats the equivalent XPath, whose ``contains`` calls
    copy the class of nearly every element several times. Each ``get`` costs about four
    times a ``keys()`` call, so the names an element has are read first and only the
    values of those present are fetched.
    """
    found = []
    for element in tree.iter(etree.Element):
        names = element.keys()
        if not names:
            continue
        if "hidden" in names or ("aria-hidden" in names and element.get("aria-hidden") == "true"):
            found.append(element)
            continue
        if "style" in names:
            style = element.get("style")
            if "none" in style or "hidden" in style:
                found.append(element)
                continue
        if "class" in names:
            classes = element.get("class")
            if (
                ("over" in classes or "tool" in classes)  # implied by each word, and cheap
                and any(w in classes for w in _HOVER_WORDS)
            ):
                found.append(element)
    return found


_CONTAINERS = ("div", "section", "article", "main")
#: Block elements: a container's loose text ends where the first of them starts.
_BLOCKS = frozenset(
    {"p", "div", "section", "article", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table",
     "blockquote", "figure", "pre", "hr", "header", "form", "iframe"}
)  # fmt: skip
_LOOSE_TEXT = 80


def wrap_loose_text(tree: lxml_html.HtmlElement) -> None:
    """Put a paragraph written straight into a container, before its blocks, into a ``<p>``.

    Some templates write the first paragraph as bare text (and inline links) in the
    section that then holds the ``<p>`` and ``<h2>`` blocks; trafilatura reads such
    text only in some of its paths and lost the paragraph.
    """
    for element in tree.iter(_CONTAINERS):
        text = element.text
        if not text or len(text) < _LOOSE_TEXT // 2 or not text.strip():
            continue
        run = []
        for child in element:
            if child.tag in _BLOCKS:
                break
            run.append(child)
        else:
            continue  # no block follows: the container is itself a paragraph
        loose = text + "".join(c.text_content() + (c.tail or "") for c in run if isinstance(c.tag, str))
        if len(loose.strip()) < _LOOSE_TEXT:
            continue
        paragraph = element.makeelement("p", {})
        paragraph.text, element.text = text, None
        paragraph.extend(run)
        element.insert(0, paragraph)


_TABLE_PARTS = frozenset({"tbody", "thead", "tfoot", "tr", "td", "th"})


def unwrap_layout_tables(tree: lxml_html.HtmlElement) -> None:
    """Turn tables that lay out the page (a cell holding a headline or paragraphs) into divs.

    trafilatura reads every table as data and writes a row as one line, so an article
    set in a layout table came out as a single line glued to the sidebar cells beside it.
    A cell with an ``<h1>`` or two paragraphs is layout: data cells hold values.
    """
    for table in list(tree.iter("table")):
        if not _is_layout(table):
            continue
        parts = [table]
        for element in table.iter(_TABLE_PARTS):
            if _owner_table(element) is table:
                parts.append(element)
        for element in parts:
            element.tag = "div"
            for name in ("width", "cellpadding", "cellspacing", "valign", "colspan", "rowspan"):
                element.attrib.pop(name, None)


def _is_layout(table: lxml_html.HtmlElement) -> bool:
    if next(table.iter("h1"), None) is not None:
        return True
    return any(next(islice(cell.iter("p"), 1, None), None) is not None for cell in table.iter("td"))


def _owner_table(element: lxml_html.HtmlElement) -> lxml_html.HtmlElement | None:
    parent = element.getparent()
    while parent is not None and parent.tag != "table":
        parent = parent.getparent()
    return parent


def spell_out_ruby(tree: lxml_html.HtmlElement) -> None:
    """Write ruby annotations as the publisher's plain-text fallback: base（reading）.

    trafilatura deletes ``<rt>``/``<rp>``, so a reading given for a name (尹錫悦 with
    ユンソンニョル) vanished and the words around it lost their link. When the ruby
    carries ``<rp>`` parentheses the author wrote how the text reads without ruby
    support; keep that text. Without ``<rp>`` the reading would be glued to the base,
    so it goes, for every extractor alike (the fallbacks read the tree themselves).
    """
    for ruby in list(tree.iter("ruby")):
        if ruby.find(".//rp") is not None:
            etree.strip_tags(ruby, "rb", "rp", "rt", "rtc")
        else:
            etree.strip_elements(ruby, "rt", "rtc", with_tail=False)


def strip_unread(tree: lxml_html.HtmlElement) -> None:
    """Remove what trafilatura deletes unread at every stage, so its passes walk less.

    Only elements that both its cleaning of the tree (``MANUALLY_CLEANED``) and its
    fallbacks on the raw tree (``BASIC_CLEAN_XPATH`` of ``baseline``, and ``html2txt``,
    which measures the page for the recall retry) delete: scripts, styles, SVG, asides,
    footers and the ``<head>``, which it never reads either. JSON-LD is kept, and moved out
    of a removed element, because trafilatura reads it on the raw tree (forum detection,
    the ``articleBody`` of its baseline). The extracted text stays the same, found faster.
    """
    head = tree.find("head")
    if head is not None:
        for child in list(head):
            if not _is_json_ld(child):
                head.remove(child)
    for script in list(tree.iter("script")):
        if not _is_json_ld(script):
            script.drop_tree()
            continue
        removed = list(script.iterancestors(*_UNREAD))
        if removed:
            script.tail = None
            removed[-1].addprevious(script)
    _keep_page_wrappers(tree)
    etree.strip_elements(tree, *_UNREAD, with_tail=False)


def _keep_page_wrappers(tree: lxml_html.HtmlElement) -> None:
    """Turn an ``<aside>`` or ``<footer>`` holding most of the page's paragraphs into a ``<div>``.

    Broken markup (an aside left open) can make one wrap the whole article; deleting it
    as furniture, as trafilatura does, would then lose the article. A sidebar of teasers
    can hold much text too, but seldom most of the paragraph text.
    """
    wrappers = [
        e
        for e in tree.iter("aside", "footer")
        if not any(a.tag in ("aside", "footer") for a in e.iterancestors())
    ]
    if not wrappers:
        return
    held = [(element, _paragraph_text(element)) for element in wrappers]
    most = max(text for _, text in held)
    # The page's paragraph text, counted only until no wrapper can hold most of it.
    total = 0
    for paragraph in tree.iter("p"):
        total += len(paragraph.text_content())
        if _WRAPPER_SHARE * total >= most:
            return
    for element, text in held:
        if total and text > _WRAPPER_SHARE * total:
            element.tag = "div"


def _paragraph_text(element: lxml_html.HtmlElement) -> int:
    return sum(len(p.text_content()) for p in element.iter("p"))


def _is_json_ld(element: lxml_html.HtmlElement) -> bool:
    return element.tag == "script" and "ld+json" in (element.get("type") or "").lower()


def _hidden_by_other_means(element: lxml_html.HtmlElement) -> bool:
    if element.get("hidden") is not None or element.get("aria-hidden") == "true":
        return True
    classes = element.get("class") or ""
    return any(word in classes for word in _HOVER_WORDS)


def clean_lines(
    lines: list[str],
    tree: lxml_html.HtmlElement,
    titles: Iterable[str],
    descriptions: Iterable[str],
    authors: Iterable[str] = (),
    link_texts: frozenset[str] = frozenset(),
) -> list[str]:
    """Drop the headline, byline and breadcrumbs at the top, and furniture lines (the standfirst stays).

    A breadcrumb or section link ("- Local", "- Bihar") before the headline is a line
    that is the whole text of a link of a few words.
    """
    kept = [line.strip() for line in lines if line.strip()]
    heads = {key(t) for t in titles if key(t)}
    names = list(authors)
    # Short lines above the repeated headline are navigation (breadcrumbs, a section
    # label, the current page's crumb, which is no link).
    top = next((i for i, line in enumerate(kept[:_TOP_LINES]) if key(line) in heads), 0)
    if 0 < top < len(kept) - 1 and all(_is_label(line) for line in kept[:top]):
        kept = kept[top:]
    dropped = 0
    while len(kept) >= 2 and dropped < _TOP_LINES:
        first = kept[0]
        if not (key(first) in heads or is_byline(first, names) or _is_top_link(first, link_texts)):
            break
        kept.pop(0)
        dropped += 1
    return [line for line in kept if not is_furniture(line)]


def _is_label(line: str) -> bool:
    return len(line.split()) <= _LABEL_WORDS and not line.endswith((".", "!", "?", "。"))


def _is_top_link(line: str, link_texts: frozenset[str]) -> bool:
    line = line.removeprefix("- ")
    return len(line.split()) <= _BREADCRUMB_WORDS and key(line) in link_texts


def markup_text(source: str) -> str:
    """Paragraphs from the raw markup, for pages lxml cannot build a usable tree of.

    libxml2 stops nesting at 255 levels and drops what is deeper; a page made of 10,000
    nested ``<div>`` elements would otherwise come out empty.
    """
    source = _INVISIBLE.sub(" ", source)
    source = _BLOCK_TAG.sub("\n\n", source)
    text = html_lib.unescape(_ANY_TAG.sub(" ", source))
    return tidy(text)


def _one_space(text: str) -> str:
    """Every run of spaces, tabs and no-break or thin spaces as one plain space.

    ``str.replace`` passes instead of a regex: a character-class regex visits every
    character in Python's regex engine, several times slower on a long body.
    """
    for space in _SPACES:
        text = text.replace(space, " ")
    while "  " in text:
        text = text.replace("  ", " ")
    return text


def tidy(text: str) -> str:
    """One paragraph per line pair, no runs of spaces, no trailing blanks."""
    lines = [line.strip() for line in _one_space(text).splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n\n".join(line for line in lines if line)).strip()
