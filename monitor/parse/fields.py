"""Choosing one value per field from the candidates: title, language, canonical URL.

Kept apart from the extraction so that the choice rules, the part most likely to need
tuning for a new kind of site, sit in one small module.
"""

from __future__ import annotations

import html as html_lib
import re
from collections import Counter
from collections.abc import Iterable

from lxml import html as lxml_html

from monitor.parse.text import element_text

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
#: " | Site", " - Site" and the like; CJK and Korean titles set the site apart without
#: spaces ("...--时政--人民网", "...ㅣ한국일보", "...｜日経").
_TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|·|»|•|/)\s+|\s*(?:--|｜|丨|ㅣ|︱)\s*")
_TLD = re.compile(r"\.(?:com|net|org|co\.uk|com\.au|de|fr|it|es|nl|ch|at|jp|ru|pl|in|ca|io)$")
_NON_WORD = re.compile(r"[\W_]+")
_LANG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_][a-zA-Z0-9]{2,8})*$")
_ISO_639_2 = {"eng": "en", "deu": "de", "ger": "de", "fra": "fr", "fre": "fr", "spa": "es", "ita": "it",
              "por": "pt", "nld": "nl", "dut": "nl", "jpn": "ja", "zho": "zh", "chi": "zh", "rus": "ru",
              "pol": "pl", "swe": "sv", "tur": "tr", "kor": "ko", "ara": "ar",
              # Country codes publishers write for the language (Korea, Japan, China, Greece...).
              "kr": "ko", "jp": "ja", "cn": "zh", "gr": "el", "cz": "cs", "dk": "da", "se": "sv",
              "ua": "uk", "br": "pt"}  # fmt: skip


def squash(text: str) -> str:
    """Collapse whitespace; the form every short field is stored in."""
    return _SPACE.sub(" ", text).strip()


def choose_title(
    hinted: list[str],
    tree: lxml_html.HtmlElement,
    site_names: Iterable[str],
    headings: list[str] | None = None,
) -> str:
    """The headline, chosen by agreement between the visible ``<h1>`` and the declared titles.

    Declared titles are the JSON-LD headline, og:title, twitter:title and the other meta
    titles (``hinted``, in that order) and ``<title>``, each unescaped (publishers
    double-escape entities) and stripped of site-name affixes (``strip_site``). When the
    ``<h1>`` says the same words as declared titles (up to punctuation, quotes and
    spacing) or shows one with a kicker or section label around it ("Kultur : ..."), the
    declared wording most of them share is returned: the ``<h1>`` text may glue its spans
    or carry the kicker. A declared title that agrees with no visible headline (an
    og:title written for social networks) loses to a similar ``<h1>``, unless more of
    the page's titles say it than say the ``<h1>`` (``_outvoted``): publishers edit the
    headline after the page template printed it, and the declared titles follow the edit.
    Without any ``<h1>`` the first declared title wins. ``headings`` are
    ``page_headings(tree)`` when the caller has them already.
    """
    head = _first_title(tree)
    declared = [squash(html_lib.unescape(t)) for t in hinted]
    if head is not None:
        declared.append(squash(head.text_content()))
    # A "site name" that is one of the titles (a publisher meta tag filled with the
    # headline) would strip the headline's own first part as a site prefix.
    title_keys = {_words(t) for t in declared}
    sites = [squash(s) for s in site_names if s and _words(s) not in title_keys]
    site_keys = {compact(s) for s in sites}
    stripped_all = [(i, t, strip_site(t, sites)) for i, t in enumerate(declared) if t]
    kept = [
        (i, t, stripped) for i, t, stripped in stripped_all if stripped and not is_site(stripped, site_keys)
    ]
    pairs = [(t, stripped) for _, t, stripped in kept]
    # The first declared title decides ties when it is metadata (JSON-LD, og:title), not
    # the ``<title>`` alone, which often carries a kicker the page shows apart.
    metadata_first = bool(kept) and kept[0][0] < len(hinted)
    candidates = [stripped for _, stripped in pairs]
    if headings is None:
        headings = page_headings(tree)
    headings = [h for h in headings if not is_site(h, site_keys)]
    for heading in headings:
        same = _agreeing(heading, pairs)
        if same:
            return _outvoted(heading, same, pairs, metadata_first) or _most_common(list(same.values()))
    for heading in headings:
        if any(_similar(heading, c) for c in candidates):
            return _outvoted(heading, {}, pairs, metadata_first) or heading
    if candidates:
        return candidates[0]
    if headings:
        return headings[0]
    for tag in ("h2", "h3"):
        element = tree.find(f".//{tag}")
        if element is not None and squash(element.text_content()):
            return squash(element.text_content())[:400]
    return ""


def _first_title(tree: lxml_html.HtmlElement) -> lxml_html.HtmlElement | None:
    """The page's first ``<title>`` (``tree.find(".//title")``), found without walking the body.

    lxml looks for the next match before it returns one, so ``find`` walks the whole page
    even when the title is its tenth element; searched child by child, the walk ends with
    the ``<head>`` that holds it.
    """
    for child in tree:
        found = child if child.tag == "title" else child.find(".//title")
        if found is not None:
            return found
    return None


def page_headings(tree: lxml_html.HtmlElement, limit: int = 8) -> list[str]:
    """The text of the page's first ``<h1>`` elements: the visible headline candidates."""
    headings: list[str] = []
    for element in tree.iter("h1"):
        text = element_text(element, " ")
        if 0 < len(text) <= 400:
            headings.append(text)
            if len(headings) >= limit:
                break
    return headings


def _agreeing(heading: str, pairs: list[tuple[str, str]]) -> dict[int, str]:
    """The declared titles saying what ``heading`` says: their index and agreeing wording.

    ``pairs`` are the declared titles as written and stripped of site affixes. Each one
    votes once: as written when it has the same words as ``heading`` (a tail such as
    ' – „Extreme Gefahr“' may belong to the headline), else stripped. Without any such
    title, a stripped one that ``heading`` shows with a kicker or section around it, or
    that shows ``heading`` with one, votes (either holds at least half the other).
    """
    key = _words(heading)
    if not key:
        return {}
    same = {
        i: raw if _words(raw) == key else stripped
        for i, (raw, stripped) in enumerate(pairs)
        if key in (_words(raw), _words(stripped))
    }
    if not same:
        same = {i: c for i, (_, c) in enumerate(pairs) if _contains(key, _words(c))}
    return same


def _outvoted(
    heading: str, same: dict[int, str], pairs: list[tuple[str, str]], metadata_first: bool
) -> str | None:
    """A declared wording more titles share than the ``<h1>`` and those agreeing with it.

    The ``<h1>`` and each declared title agreeing with it (``same``) are one vote each;
    the others vote by their words once site affixes are stripped, except those that
    only add a tail to the ``<h1>`` (a site name ``strip_site`` did not know). A larger
    group wins: most of the page's own titles saying one headline outweigh a visible
    variant (an edited or shortened display version). Ties stay with the visible one.
    """
    key = _words(heading)
    groups: dict[str, list[tuple[int, str]]] = {}
    votes = len(same) + 1
    for i, (raw, stripped) in enumerate(pairs):
        if i in same:
            continue
        words = _words(stripped)
        if words.startswith(key) or _words(raw).startswith(key):
            votes += 1
        else:
            groups.setdefault(words, []).append((i, stripped))
    best = max(groups.values(), key=len, default=[])
    # On a tie the first declared title (the JSON-LD headline) decides when it is the
    # same headline edited (a tail cut, a word changed), not a different one.
    edited = metadata_first and bool(best) and best[0][0] == 0 and _similar(heading, best[0][1])
    if len(best) > votes or (len(best) == votes and edited):
        return _most_common([wording for _, wording in best])
    return None


def _most_common(wordings: list[str]) -> str:
    counts = Counter(wordings)
    return max(wordings, key=lambda c: (counts[c], -wordings.index(c)))


def _contains(outer: str, inner: str) -> bool:
    return len(inner) >= 0.5 * len(outer) and (outer.startswith(inner) or outer.endswith(inner))


def _words(text: str) -> str:
    return _NON_WORD.sub("", text).casefold()


def strip_site(title: str, site_names: list[str]) -> str:
    """Drop a leading or trailing " | Site Name" from a ``<title>``-style string.

    A part counts as the site when it is a known site name, or looks like the host name
    ("AutoGuide.com" for autoguide.com), or is a short tail after a much longer head.
    """
    sites = {compact(s) for s in site_names if s}
    for _ in range(3):
        parts = list(_TITLE_SEPARATORS.finditer(title))
        if not parts:
            break
        last, first_sep = parts[-1], parts[0]
        tail, head = title[last.end() :], title[: first_sep.start()]
        if is_site(tail, sites) or (len(tail.split()) <= 3 and len(title[: last.start()]) > 3 * len(tail)):
            title = title[: last.start()].strip()
        elif is_site(head, sites):
            title = title[first_sep.end() :].strip()
        else:
            break
    return title


def compact(text: str) -> str:
    """A name reduced for comparison with site names: no "www.", common TLD, case or punctuation."""
    text = text.casefold().strip().removeprefix("www.")
    text = _TLD.sub("", text)
    return _NON_WORD.sub("", text)


def is_site(part: str, sites: set[str]) -> bool:
    """True when ``part`` names the site: equal to a ``compact`` site name or a prefix of one."""
    key = compact(part)
    return bool(key) and any(
        key == s or (len(s) > 3 and (key.startswith(s) or s.startswith(key))) for s in sites
    )


def _similar(heading: str, candidate: str) -> bool:
    a, b = heading.casefold(), candidate.casefold()
    short, long_ = sorted((a, b), key=len)
    if a == b or (len(short) >= 12 and short in long_ and len(short) >= 0.5 * len(long_)):
        return True
    wa, wb = set(_WORD.findall(a)), set(_WORD.findall(b))
    if not wa or not wb:
        return False
    return len(wa & wb) / len(wa | wb) >= 0.6


def choose_language(candidates: Iterable[str]) -> str | None:
    """The first candidate that is a language tag, as an ISO 639-1 code."""
    for value in candidates:
        match = _LANG.match(value.strip())
        if not match:
            continue
        code = match.group(1).lower()
        code = _ISO_639_2.get(code, code)
        if len(code) == 2:
            return code
    return None


def first(values: Iterable[str], limit: int = 1000) -> str | None:
    """The first non-blank value, whitespace-collapsed and bounded."""
    for value in values:
        text = squash(value)
        if text:
            return text[:limit]
    return None
