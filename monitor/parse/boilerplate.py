"""Furniture lines: text that sits inside article containers but is never article text.

Extractors keep these because they are inside the article's ``<div>``; they are worth a
module of their own because every newsroom language has its own wording. Patterns are
anchored and short-line only, so a sentence of the article that merely contains the
words is never dropped.
"""

from __future__ import annotations

import re

from monitor.parse.quality import key

_MAX_FURNITURE = 300

# Whole-line patterns (matched against the start of the line, case-insensitive).
_LEADS = re.compile(
    r"^\s*[\[(]?\s*(?:"
    # cross-links
    r"read more|see more:|see also|related|related articles?|related stories|more on this"
    r"|don'?t miss|must read|recommended|popular on\b|most popular|trending|watch:"
    r"|lesen sie auch|lesen sie mehr|mehr zum thema|auch interessant|das könnte sie auch interessieren"
    r"|lire aussi|à lire aussi|a lire aussi|voir aussi|sur le même sujet"
    r"|leggi anche|potrebbe interessarti|vedi anche"
    r"|lee también|leer más|te puede interesar|ver también"
    r"|leia também|leia mais|veja também"
    r"|lees ook|zobacz też|zobacz także|czytaj także|читайте также|смотрите также"
    # newsletters, subscriptions, social
    r"|sign up\b|subscribe\b|get the .{0,40}newsletter|newsletter\b|follow us\b"
    r"|follow .{0,60} on (?:twitter|facebook|instagram)"
    r"|share this (?:article|story|post)|share on|share:|tweet this|email this|print article|order reprints"
    r"|tell us what you think|join the conversation|leave a comment|comments?$|\d+ comments?$"
    r"|abonnieren|newsletter abonnieren|inscrivez-vous|abonnez-vous|iscriviti|suscríbete|assine"
    # notices
    r"|copyright\b|©|\(c\) \d{4}|all rights reserved|alle rechte vorbehalten|tous droits réservés"
    r"|this copy is for your personal|an error has occurred|advertisement$|anzeige$|publicité$|pubblicità$"
    r"|publicidad$|werbung$|filed under:|posted in:|tags?:|image:|photo:|credit:"
    r"|(?:impressum|datenschutz|imprint|privacy policy|terms of (?:use|service)|cookie policy|contact us"
    r"|about us|mentions légales|kontakt|contatti|contacto)\s*$"
    r"|artikel teilen|diskutieren sie mit|kommentare\b|commentaires\b|commenti\b|comentarios\b"
    r")",
    re.IGNORECASE,
)
# Lines that are only an e-mail address or a social handle (bare URLs can be article text:
# source lists and shopping links).
_ONLY_LINK = re.compile(r"^\s*(?:\S+@\S+\.\w+|@\w+|(?:https?://)?(?:www\.)?twitter\.com/\S+)\s*$", re.I)
#: A content-management shortcode the site failed to render: "[button link=...]Send[/button]".
_SHORTCODE = re.compile(
    r"^\s*\[([a-z][\w-]*)(?:\s[^\]]*)?\].{0,200}\[/\1\]\s*$|^\s*\[(?:[a-z][\w-]*(?:\s+[\w-]+=[^\]]*)+|/[a-z][\w-]*)\]\s*$",
    re.IGNORECASE,
)
_RIGHTS = re.compile(r"all rights reserved|alle rechte vorbehalten|tous droits réservés", re.IGNORECASE)


def is_furniture(line: str) -> bool:
    """True for a short line that is page furniture rather than article text."""
    if len(line) > _MAX_FURNITURE:
        return False
    return bool(
        _LEADS.match(line) or _ONLY_LINK.match(line) or _RIGHTS.search(line) or _SHORTCODE.match(line)
    )


#: Endings of a sentence or a lead-in (a teaser headline has none of them).
_SENTENCE_ENDS = (".", "!", "?", "。", "”", '"', ":", "…")
#: A teaser headline has at least this many words (shorter link lines may be names, tags).
_TEASER_WORDS = 3
#: A bracketed label of one or two words ending a line, and a separator after it.
_LABEL_ENDS = ("]", ")", "|", "•", "·")
_LABEL = re.compile(r"\s*[\[(]\s*\w+(?:\s\w+)?\s*[\])]\s*[|•·]?\s*$")


def drop_teasers(text: str, link_texts: frozenset[str]) -> str:
    """``text`` without related-article boxes: runs of teaser lines, and a teaser ending it.

    A teaser line is the whole text of a link on the page (``link_texts``, as
    ``quality.key`` reduces them), of a few words and no sentence. Only runs of two or
    more, or the last line, are dropped: a single linked line between paragraphs is more
    often a product or subheading the article links than a teaser.
    """
    lines = text.split("\n\n")
    flags = [_is_teaser(line, link_texts) for line in lines]
    last = len(lines) - 1
    kept = [
        line
        for i, (line, flag) in enumerate(zip(lines, flags, strict=True))
        if not (flag and (i == last or (i > 0 and flags[i - 1]) or (i < last and flags[i + 1])))
    ]
    return "\n\n".join(kept) if kept else text


def _is_teaser(line: str, link_texts: frozenset[str]) -> bool:
    line = line.strip()
    if len(line) > _MAX_FURNITURE:
        return False  # a paragraph, never a teaser headline
    # A label after the link ("[VIDEO]", "(PICTURES) |") says what the teaser leads to.
    bare = _LABEL.sub("", line) if line.endswith(_LABEL_ENDS) else line
    return (
        len(bare.split()) >= _TEASER_WORDS
        and not bare.endswith(_SENTENCE_ENDS)
        and (key(line) in link_texts or (bare != line and key(bare) in link_texts))
    )


#: An e-mail address, an @handle or a social profile link: how to reach the author.
_CONTACT = re.compile(
    r"\S+@\S+\.\w+|(?<!\w)@\w{2,}|(?:twitter|facebook|instagram)\.com/\w|\bx\.com/\w", re.IGNORECASE
)
#: An embedded post quoted in the article: its attribution ("— Name (@handle) date") or media link.
_EMBED = re.compile(r"^\s*[—–]|pic\.twitter\.com|\bt\.co/")
#: A contact note is short.
_CONTACT_WORDS = 60


def drop_contact_tail(text: str) -> str:
    """``text`` without the contact notes that end it ("Email X at x@y.com or follow @x").

    Author and newsroom contact lines, letters-to-the-editor and follow-us notes close
    many articles below the last paragraph; each carries an e-mail address, an @handle or
    a social profile link. A post embedded at the end (a quoted tweet) stays.
    """
    lines = text.split("\n\n")
    while len(lines) > 1 and _is_contact(lines[-1]):
        lines.pop()
    return "\n\n".join(lines)


def _is_contact(line: str) -> bool:
    return len(line.split()) <= _CONTACT_WORDS and bool(_CONTACT.search(line)) and not _EMBED.search(line)
