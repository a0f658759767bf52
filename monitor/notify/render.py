"""Alerts and digests as people read them, from Jinja2 templates the user can override.

Each message is rendered three ways from the same facts: a title line, a Markdown body
(chat, the console; apprise turns it into each service's own markup) and an HTML body
(email, sent with a plain-text part). The built-in templates live in
``monitor/notify/templates/``; a ``templates:`` folder in monitor.yaml is searched first, so a
user overrides one file by putting a file of the same name there:

    alert_title.txt  alert.md  alert.html  digest_title.txt  digest.md  digest.html

Templates get plain data (``Entry`` objects), never ORM rows: times are already in the
channel's time zone, and the matched passage keeps its ``**hit**`` marks (the ``marked``
filter turns them into ``<mark>`` in HTML). Markdown lines that must stay lines end in two
spaces (a hard break): Matrix renders Markdown without turning single newlines into breaks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    select_autoescape,
)
from markupsafe import Markup, escape

from monitor.errors import NotifyError
from monitor.store.models import AlertRow, ArticleRow

_HIT = re.compile(r"\*\*(.+?)\*\*")


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered alert: a title line, a Markdown body, and the same as HTML (may be empty)."""

    title: str
    body: str
    html: str = ""


@dataclass(frozen=True, slots=True)
class Copy:
    """Another outlet's copy of the story ("also reported by")."""

    outlet: str
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One matched article, ready for a template."""

    rule: str
    title: str
    url: str
    outlet: str = ""
    published: str = ""  # in the channel's time zone, e.g. "2010-04-06 19:30 CEST"
    authors: tuple[str, ...] = ()
    snippet: str = ""
    terms: tuple[str, ...] = ()
    also: tuple[Copy, ...] = field(default=())

    def facts(self) -> list[tuple[str, str]]:
        """The labelled lines under the headline: outlet, time, authors, link (when known)."""
        facts = [("Outlet", self.outlet), ("Published", self.published), ("By", ", ".join(self.authors))]
        return [(label, value) for label, value in facts if value] + [("Link", self.url)]


def local_time(moment: datetime | None, timezone: str) -> str:
    """``moment`` in ``timezone`` as ``YYYY-MM-DD HH:MM ZONE``; empty when unknown."""
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def outlet_of(article: ArticleRow) -> str:
    """The outlet's name as the page gives it, else the configured source name."""
    return article.site_name or article.source or ""


def entry_for(alert: AlertRow, timezone: str, also: Sequence[ArticleRow] = ()) -> Entry:
    """The template data of one alert (its article, match and the story's other copies)."""
    article, match = alert.article, alert.match
    return Entry(
        rule=alert.rule,
        title=article.title,
        url=article.url,
        outlet=outlet_of(article),
        published=local_time(article.published_at, timezone),
        authors=tuple(article.authors or ()),
        snippet=match.snippet or "",
        terms=tuple(match.terms or ()),
        also=tuple(Copy(outlet_of(other) or other.url, other.title, other.url) for other in also),
    )


def marked(snippet: str) -> Markup:
    """HTML-escape a passage and turn its ``**hit**`` marks into ``<mark>hit</mark>``."""
    escaped = str(escape(snippet))
    return Markup(_HIT.sub(r"<mark>\1</mark>", escaped))


class Templates:
    """The Jinja2 environment: the user's folder first, then the built-in templates."""

    def __init__(self, folder: Path | None = None) -> None:
        loaders: list[FileSystemLoader | PackageLoader] = []
        if folder is not None:
            loaders.append(FileSystemLoader(str(folder)))
        loaders.append(PackageLoader("monitor.notify", "templates"))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(["html"], default_for_string=False, default=False),
            undefined=StrictUndefined,  # a typo in a user's template fails loudly, not as blank text
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["marked"] = marked

    def render(self, name: str, **context: object) -> str:
        """Render one template file with ``context``; ``NotifyError`` names a broken template."""
        try:
            return self.env.get_template(name).render(**context).strip()
        except TemplateSyntaxError as exc:
            raise NotifyError(f"{exc.filename or name}:{exc.lineno}: template error: {exc.message}") from None
        except TemplateError as exc:
            raise NotifyError(f"template {name}: {exc}") from None

    def alert(self, entry: Entry, channel: str) -> Message:
        """An instant alert: ``[rule] headline``, then the article's facts and passage."""
        context = {"entry": entry, "channel": channel}
        return Message(
            title=" ".join(self.render("alert_title.txt", **context).split()),
            body=self.render("alert.md", **context),
            html=self.render("alert.html", **context),
        )

    def digest(self, entries: Sequence[Entry], channel: str, window_end: str) -> Message:
        """A digest: every entry of one window, grouped by rule."""
        groups: dict[str, list[Entry]] = {}
        for entry in entries:
            groups.setdefault(entry.rule, []).append(entry)
        context = {"entries": entries, "groups": groups, "channel": channel, "window_end": window_end}
        return Message(
            title=" ".join(self.render("digest_title.txt", **context).split()),
            body=self.render("digest.md", **context),
            html=self.render("digest.html", **context),
        )


_DEFAULT: Templates | None = None


def default_templates() -> Templates:
    """The built-in templates, loaded once."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Templates()
    return _DEFAULT


def render_alert(
    alert: AlertRow,
    timezone: str = "UTC",
    also: Sequence[ArticleRow] = (),
    templates: Templates | None = None,
) -> Message:
    """The alert as people read it: rule and headline, outlet, time, authors, link, passage."""
    return (templates or default_templates()).alert(entry_for(alert, timezone, also), alert.channel)
