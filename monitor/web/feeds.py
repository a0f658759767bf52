"""Atom feeds of matches: ``/feeds/RULE.atom`` per rule and ``/feeds/all.atom`` for every rule.

feedgen writes the Atom. One entry per story, never per article: its ``id`` is a ``tag:``
URI made of the story id (and the rule), which never changes, so a feed reader shows a
story once however often the feed is read and however many copies join it; when a copy
is added (or another match comes) the entry's ``updated`` moves and its content lists the
copies, which readers show as an update of the same item, not a new one. The ``id`` holds
no host name: moving the desk to another address does not duplicate every item.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from feedgen.feed import FeedGenerator
from markupsafe import escape

from monitor.store import desk as queries
from monitor.web import render
from monitor.web.access import feed_user
from monitor.web.desk import desk_of

router = APIRouter(dependencies=[Depends(feed_user)], include_in_schema=False)
ENTRIES = 50
ATOM = "application/atom+xml; charset=utf-8"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def entry_id(base: str, story_id: int, rule: str | None) -> str:
    """The stable id of a story's entry (in the feed of ``rule``, or the all-rules feed)."""
    return f"{base}story/{story_id}" if rule is None else f"{base}rule/{rule}/story/{story_id}"


def _content(summary: queries.StorySummary) -> str:
    """The entry's HTML: the matched passages, then the copies ("also reported by")."""
    parts = []
    for match in summary.matches:
        passage = str(render.snippet_html(match.snippet)).replace("<mark>", "<b>").replace("</mark>", "</b>")
        parts.append(f"<p><i>{escape(match.rule)}</i>: {passage}</p>")
    if summary.copies:
        names = [
            (article.url, article.site_name or article.source or article.url) for article in summary.copies
        ]
        links = ", ".join(f'<a href="{escape(url)}">{escape(name)}</a>' for url, name in names)
        parts.append(f"<p>Also reported by: {links}</p>")
    return "".join(parts)


def build_feed(stories: list[queries.StorySummary], rule: str | None, base: str, self_url: str) -> bytes:
    """The Atom document of ``stories`` (newest first)."""
    feed = FeedGenerator()
    feed.id(f"{base}feed/{'all' if rule is None else 'rule/' + rule}")
    feed.title(f"monitor: {rule}" if rule else "monitor: all rules")
    feed.link(href=self_url, rel="self")
    feed.generator("monitor")
    newest = _EPOCH
    for summary in stories:
        original = summary.original
        updated = max([summary.last_match, *(article.fetched_at for article in summary.articles)])
        newest = max(newest, updated)
        entry = feed.add_entry(order="append")
        entry.id(entry_id(base, summary.story_id, rule))
        entry.title(original.title)
        entry.link(href=original.url)
        entry.published(min(match.created_at for match in summary.matches) if summary.matches else updated)
        entry.updated(updated)
        if summary.matches:
            entry.summary(render.snippet_text(summary.matches[0].snippet))
        entry.content(_content(summary), type="html")
    feed.updated(newest)
    document: bytes = feed.atom_str(pretty=True)
    return document


def _self_url(request: Request) -> str:
    """The feed's own address without its token: no secret is written into a feed."""
    return str(request.url.remove_query_params("token"))


@router.get("/feeds/all.atom")
def all_rules(request: Request) -> Response:
    """One entry per story that any rule matched, newest first."""
    desk = desk_of(request)
    with desk.database.transaction() as session:
        stories = queries.story_feed(session, None, ENTRIES)
    body = build_feed(stories, None, desk.settings.feed_id_base, _self_url(request))
    return Response(body, media_type=ATOM)


@router.get("/feeds/{rule}.atom")
def one_rule(request: Request, rule: str) -> Response:
    """One entry per story the rule matched, newest first."""
    desk = desk_of(request)
    known = {item.name for item in desk.rules.current()}
    with desk.database.transaction() as session:
        stories = queries.story_feed(session, rule, ENTRIES)
    if rule not in known and not stories:
        raise HTTPException(404, f"no rule named {rule!r}")
    body = build_feed(stories, rule, desk.settings.feed_id_base, _self_url(request))
    return Response(body, media_type=ATOM)
