"""Author names: a clean tuple of people, without "By", bios, handles or outlet names.

Sources, most trusted first (``choose_authors``): JSON-LD ``author`` and author meta tags,
then trafilatura's ranked byline search (``ranked_bylines``: the XPaths of
``trafilatura.metadata.extract_author``, most specific first, and the first element whose short
text names a person, which skips the bylines of teasers further down),
then every byline element of the page (``rel=author``, ``itemprop=author``,
``class*=byline|author``). Values are split on "and"/"&"/commas in the main newsroom
languages; dates glued to a name, parenthesised initials, handles, roles ("Journalist"),
picture credits and the split "Family, Given" form are dropped.

A page that names no person is credited to the organisation its metadata names: a news
agency ("dpa", "AFP") first, else the publisher ("BBC News"), as newsrooms do for agency
copy and desk-written stories. A person always wins over an organisation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from lxml import etree
from lxml import html as lxml_html

from monitor.parse.fields import compact, is_site
from monitor.parse.text import element_text

_PREFIX = re.compile(
    r"^\s*(?:(?i:written|posted|reported|text|story|words|photos?|analysis|opinion|commentary|interview|review)\s+)?"
    r"(?:(?i:by|from|von|par|por|door|av|af|przez|от|quelle|source|fuente|fonte|bron)|di|da|de)\s*[:\-]?\s+"
)
#: A kicker or section before a capitalised "By"/"Von" inside the byline ("Capital Von Jemima Kelly").
_INNER_PREFIX = re.compile(r"^\S.{0,40}?\s(?:By|Von|Par|Por)\s+(?=[A-Z])")
_SPLIT = re.compile(
    # Case-sensitive on purpose: a capital "E." or "Y." is an initial, not a conjunction.
    r"\s*(?:,|;|\||&|\b(?:and|And|AND|und|et|y|e|en|och|og|i|u|и)\b(?!\.)| · | / )\s*"
)
_NOISE = re.compile(
    r"https?://|www\.|@|\d|:|\bupdated\b|\bpublished\b|\bposted\b|\bstaff\b|\bcontributor\b"
    r"|\bcorrespondent\b|\breporter\b|\beditor\b|\bwriter\b|\bnews ?desk\b|\bmin read\b"
    r"|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b|\b(?:montag|dienstag|mittwoch|donnerstag|freitag"
    r"|samstag|sonntag)\b|\bjournalist|\bredakt|\br[ée]dac|\bredaz|\bnewsroom\b|agentur|\bagen[cz]|\bfollow\b|\bfolgen\b"
    # picture credits in the author slot ("Image: Getty Images/iStockphoto")
    r"|\bimages?\b|\bgetty\b|\bphotos?\b|\bfoto\b|\bcredit|\bistock|\bshutterstock|\balamy\b",
    re.IGNORECASE,
)
#: A handle or URL slug written where a name belongs ("Sauli.giliard", "emma-mackenzie").
_HANDLE = re.compile(r"[a-z]\.[a-z]")
#: Parenthesised initials or notes after a name, closed or cut off ("Elena Oberholzer (obe)").
_PARENS = re.compile(r"\s*[(\[][^)\]]*[)\]]?")
#: News agencies, credited by name when a story is theirs; never a person.
_AGENCIES = frozenset(
    {"dpa", "afp", "ap", "apa", "ansa", "efe", "epd", "kna", "sda", "ats", "sid", "ddp", "upi", "pa",
     "aap", "anp", "belga", "ritzau", "ntb", "tt", "stt", "ctk", "pap", "mti", "reuters", "xinhua",
     "tass", "yonhap", "kyodo", "jiji", "bloomberg", "associated press", "press association",
     "agence france-presse", "agence france presse", "deutsche presse-agentur", "europa press",
     "canadian press", "dow jones"}
)  # fmt: skip
_ROLE_SUFFIX = re.compile(
    r"\s*[,(|/–—-]\s*(?i:senior |chief |staff |special |political |foreign )?"
    r"(?i:editor|reporter|correspondent|writer|contributor|columnist|journalist).*$"
    # a job title set apart only by markup: "Emma Mackenzie Lifestyle Writer"
    r"|\s+(?:[A-Z][\w-]* )?(?:Editor|Reporter|Correspondent|Writer|Contributor|Columnist|Journalist)\b.*$"
)
_SPACE = re.compile(r"\s+")
_MAX_NAMES = 12

# The class tests run only on classes holding "aut", "by" or "writer", which every one
# of them implies: most elements of a page have a class, and a dozen ``contains`` calls on
# each one made this the slowest XPath of the parser.
_BYLINE_XPATH = etree.XPath(
    "//*[@rel='author' or @itemprop='author' or contains(@data-testid,'byline')"
    " or @class[(contains(.,'aut') or contains(.,'by') or contains(.,'writer'))"
    " and (contains(.,'byline') or contains(.,'author-name') or .='autor' or contains(.,'autor ')"
    " or contains(.,'auteur') or contains(.,'article-author') or contains(.,'author__name') or .='author'"
    " or contains(.,'post-author') or contains(.,'entry-author') or contains(.,'posted-by')"
    " or contains(.,'meta-author') or contains(.,'story-author') or contains(.,'writer'))]]"
    "[not(self::meta)][not(self::link)]"
)


def choose_authors(
    structured: list[str],
    bylines: Callable[[], list[str]],
    site_names: list[str],
    searches: Iterable[Callable[[], list[str]]] = (),
) -> tuple[str, ...]:
    """The people the page names as authors, else the agency or publisher its metadata names.

    ``structured`` are the JSON-LD and meta values; ``searches`` return alternative byline
    texts, best first (the first naming a person wins), and are tried in order before
    ``bylines``, every byline element of the page read together. Each is called only when
    everything before it named nobody. An agency named beside a person stays
    ("Jane Doe, dpa"); a source naming only agencies does not end the search.
    """
    names = clean_authors(structured, site_names)
    if _has_person(names):
        return names
    found: list[str] = []
    for search in searches:
        for text in search():
            names = clean_authors([text], site_names)
            if _has_person(names):
                return names
            found.append(text)
    raw = bylines()
    names = clean_authors(raw, site_names)
    if _has_person(names):
        return names
    found.extend(raw)
    return organisations(structured, site_names) or organisations(found, site_names)


def _has_person(names: Iterable[str]) -> bool:
    return any(name.casefold() not in _AGENCIES for name in names)


def clean_authors(raw: Iterable[str], site_names: Iterable[str] = ()) -> tuple[str, ...]:
    """Normalise raw author strings into distinct person names."""
    banned = {_key(name) for name in site_names if name}
    sites = _site_keys(site_names)
    names: list[str] = []
    seen: set[str] = set()
    for value in raw:
        for name in _split(value):
            key = _key(name)
            if key and key not in seen and key not in banned and compact(name) not in sites:
                seen.add(key)
                names.append(name)
            if len(names) >= _MAX_NAMES:
                return _whole_names(names)
    return _whole_names(names)


def organisations(raw: Iterable[str], site_names: Iterable[str] = ()) -> tuple[str, ...]:
    """The news agencies among ``raw`` author strings, else the publisher names, as written."""
    sites = _site_keys(site_names)
    agencies: dict[str, str] = {}
    publishers: dict[str, str] = {}
    for value in raw:
        for part in _parts(value):
            if part.casefold() in _AGENCIES:
                agencies.setdefault(_key(part), part)
            elif part and len(part) <= 60 and not _NOISE.search(part) and is_site(part, sites):
                publishers.setdefault(_key(part), part)
    return tuple((agencies or publishers).values())[:_MAX_NAMES]


def _site_keys(site_names: Iterable[str]) -> set[str]:
    """``compact`` site names, also without a parenthesised note ("Deutsche Welle (www.dw.com)")."""
    names = [n for n in site_names if n]
    return {compact(n) for n in names} | {compact(_PARENS.sub("", n)) for n in names} - {""}


def _whole_names(names: list[str]) -> tuple[str, ...]:
    """Drop one-word names that are part of a fuller one ("You" and "Xiaoying" of "Xiaoying You")."""
    words = {w for name in names if " " in name for w in _key(name).split()}
    return tuple(n for n in names if " " in n or _key(n) not in words)


def _parts(value: str) -> list[str]:
    """``value`` split into candidate names, prefixes, roles and parentheses removed."""
    value = _SPACE.sub(" ", value).strip()
    if not value or len(value) > 300:
        return []
    value = _INNER_PREFIX.sub("", _PREFIX.sub("", value))
    value = _PARENS.sub("", value)
    value = _ROLE_SUFFIX.sub("", value)
    return [_PREFIX.sub("", part).strip(" .:-–—•·\"'“”()[]") for part in _SPLIT.split(value)]


def _split(value: str) -> list[str]:
    out = []
    for line in value.splitlines():
        for part in _parts(line):
            if _looks_like_name(part) and not _PREFIX.match(part + " "):
                # ALL-CAPS bylines ("TOM KRISHER") are a style, not the name.
                out.append(part.title() if part.isupper() and len(part) > 3 else part)
    return out


def _looks_like_name(part: str) -> bool:
    if part.casefold() in _AGENCIES:
        return True
    if not part or _NOISE.search(part) or _HANDLE.search(part):
        return False
    words = part.split()
    if not 1 <= len(words) <= 5 or len(part) > 60:
        return False
    # A person's name has at least one capitalised word (or is in a caseless script).
    return any(w[:1].isupper() or (not w[:1].isascii() and not w[:1].islower()) for w in words)


def _key(name: str) -> str:
    return _SPACE.sub(" ", name).strip().casefold()


def is_byline(line: str, authors: Iterable[str]) -> bool:
    """True for a short line that is only the byline ("By Jane Doe and John Roe")."""
    if len(line) > 120:
        return False
    stripped = _PREFIX.sub("", line).strip()
    if stripped == line.strip():
        return False
    names = _split(line)
    known = {_key(a) for a in authors}
    return bool(names) and (all(_key(n) in known for n in names) or len(stripped.split()) <= 8)


def page_bylines(tree: lxml_html.HtmlElement) -> list[str]:
    """Author strings from byline elements of the visible page."""
    found: list[str] = []
    for element in _BYLINE_XPATH(tree)[:20]:
        if element.tag in ("script", "style", "img"):
            continue
        text = element_text(element)
        if text and len(text) <= 200:
            found.append(text)
    return found


#: Attribute words implied by every test of trafilatura's ``AUTHOR_XPATHS``
#: (trafilatura/xpaths.py); ``_byline_rank`` then orders the elements as its three XPaths
#: do. Its EXSLT ``re:test`` calls back into Python for every element, and even written
#: with ``contains`` the XPaths cost more than this one walk with attribute reads.
_CANDIDATE_CLASSES = ("uthor", "yline", "writer", "screenname", "channel-name", "-by", "journalist-name",
                      "zuozhe", "bianji", "xiaobian", "byl", "BBL", "username")  # fmt: skip
#: Any of ``_CANDIDATE_CLASSES`` in a class attribute: one search in C instead of a Python
#: test per word, on the class of every element of the page.
_CANDIDATE_CLASS = re.compile("|".join(map(re.escape, _CANDIDATE_CLASSES)))
_RANK_0_TAGS = frozenset({"a", "address", "div", "link", "p", "span", "strong"})
_RANK_1_TAGS = frozenset({"a", "div", "h3", "h4", "p", "span"})
_RANK_0_CLASSES = ("author-name", "authorname", "AuthorName", "authorName")
_RANK_1_CLASSES = ("author", "channel-name", "zuozhe", "bianji", "xiaobian", "submitted-by", "posted-by",
                   "journalist-name")  # fmt: skip
_RANK_2_CLASSES = ("author", "Author", "screenname", "writer", "byline", "Byline")
#: trafilatura's ``AUTHOR_DISCARD_XPATHS``: a byline inside these is not the article's.
_DISCARD_CLASSES = ("comments", "commentlist", "comments-list", "sidebar", "is-hidden", "quote",
                    "embedly-instagram", "article-share", "article-support", "print", "category",
                    "meta-date", "meta-reviewer")  # fmt: skip
_MAX_RANKED = 120


def ranked_bylines(tree: lxml_html.HtmlElement) -> list[str]:
    """Texts of byline elements in trafilatura's order, outside comments and figures.

    Alternatives, best first: the caller takes the first one that names a person, so the
    article's byline wins over the bylines of teasers further down the page.
    """
    ranked: list[list[lxml_html.HtmlElement]] = [[], [], []]
    for element in tree.iter(etree.Element):
        if not _may_be_byline(element):
            continue
        rank = _byline_rank(element)
        if rank is not None:
            ranked[rank].append(element)
    for elements in ranked:
        for element in elements:
            if element.tag in ("script", "style", "meta") or _longer(element, 2 * _MAX_RANKED):
                continue
            if _discarded(element):
                continue
            text = element_text(element)
            if 2 < len(text) < _MAX_RANKED:
                return [text]
    return []


def _may_be_byline(element: lxml_html.HtmlElement) -> bool:
    """True when ``element`` has an attribute word that one of trafilatura's author XPaths tests.

    Every element of the page is asked: its attribute names come in one ``keys()`` call,
    about a quarter of the cost of a ``get``, and only the values present are read.
    """
    names = element.keys()
    if not names:
        return bool(element.tag == "author")
    if "class" in names and _CANDIDATE_CLASS.search(element.get("class", "")) is not None:
        return True
    if "id" in names:
        ident = element.get("id", "")
        if "uthor" in ident or "zuozhe" in ident or "bianji" in ident:
            return True
    return (
        "itemprop" in names
        or "data-testid" in names
        or "data-component" in names
        or ("rel" in names and element.get("rel") == "author")
        or element.tag == "author"
    )


def _byline_rank(element: lxml_html.HtmlElement) -> int | None:
    """Which of trafilatura's three author XPaths (0 most specific) selects ``element``."""
    tag, get = element.tag, element.get
    classes, ident, itemprop = get("class") or "", get("id") or "", get("itemprop") or ""
    if tag == "author" or (
        tag in _RANK_0_TAGS
        and (
            get("rel") == "author"
            or ident == "author"
            or classes == "author"
            or itemprop == "author name"
            or get("data-testid") in ("AuthorCard", "AuthorURL")
            or any(word in classes for word in _RANK_0_CLASSES)
        )
    ):
        return 0
    if tag in _RANK_1_TAGS and (
        classes in ("byline", "username", "byl", "BBL")
        or "author" in itemprop
        or any(word in ident for word in ("author", "zuozhe", "bianji", "xiaobian"))
        or any(word in classes for word in _RANK_1_CLASSES)
    ):
        return 1
    if (
        "Byline" in (get("data-component") or "")
        or "author" in itemprop
        or "author" in ident
        or "Author" in ident
        or any(word in classes for word in _RANK_2_CLASSES)
    ):
        return 2
    return None


def _longer(element: lxml_html.HtmlElement, chars: int) -> bool:
    """True when ``element`` holds more than ``chars`` characters besides indentation (stops early)."""
    total = 0
    for text in element.itertext():
        total += len(text.strip())
        if total > chars:
            return True
    return False


def _discarded(element: lxml_html.HtmlElement) -> bool:
    for node in element.iterancestors():
        tag = node.tag
        if tag in ("time", "figure") or "Figure" in (node.get("data-component") or ""):
            return True
        if tag not in ("a", "div", "section", "span"):
            continue
        ident, classes = node.get("id") or "", node.get("class") or ""
        if (
            ident == "comments"
            or ident.startswith("comments")
            or "comment-list" in ident
            or "commentlist" in ident
        ):
            return True
        if classes in ("comments", "title", "date") or classes.startswith(("Comments", "comments")):
            return True
        if any(word in classes for word in _DISCARD_CLASSES):
            return True
    return False
