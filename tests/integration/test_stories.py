"""Story clustering on real-looking pages: one wire story in two outlets' clothes is one story;
two different stories about the same alliance are two.

The pages are written for this test in the style of 2010 trade-press coverage. They go
through the real parser (``parse_html``) and the real store, so the furniture each outlet
wraps around the wire copy (navigation, share bars, related links, newsletter boxes,
photo captions, a different headline) is what the clustering has to see past.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.parse import parse_html
from monitor.store.database import Database, save_article
from monitor.store.stories import SIMILARITY_THRESHOLD, Signature

NOW = datetime(2010, 4, 7, 12, 0, tzinfo=UTC)

WIRE = [
    "Daimler AG and the Renault-Nissan alliance on Wednesday sealed a broad cooperation that "
    "ties the German luxury carmaker to its French and Japanese partners through a small "
    "exchange of shares, the companies said at a joint news conference in Brussels.",
    "Under the agreement, Renault and Nissan will together take a 3.1 percent stake in Daimler, "
    "while Daimler will receive 3.1 percent of each of Renault and Nissan. The share swap is "
    "meant to underline a long-term commitment rather than give any side control, executives said.",
    "The first joint project is the next generation of small cars. The successor of the Smart "
    "fortwo and a new four-seat Smart will share a rear-engine architecture with the next "
    "Renault Twingo, with Renault building the four-seater at its plant in Novo Mesto, Slovenia, "
    "and Daimler building the two-seater in Hambach, France.",
    "The partners also plan to share small gasoline and diesel engines. Daimler will supply "
    "four- and six-cylinder engines to Infiniti, Nissan's luxury brand, while Renault will "
    "provide three- and four-cylinder units for the small Mercedes-Benz cars. Light commercial "
    "vehicles are to follow, starting with a small van built on a Renault design.",
    "Daimler chief executive Dieter Zetsche said the alliance would bring savings of about "
    "4 billion euros over five years to the three companies together. Carlos Ghosn, who heads "
    "both Renault and Nissan, said each partner would keep its own brands and identity and that "
    "further projects would be studied case by case.",
    "Analysts said the deal gives Daimler a cheaper route to meet tighter European carbon "
    "dioxide limits with small cars, a segment where it has struggled to make money on its own, "
    "while Renault and Nissan gain access to premium engines and technology.",
]

FOLLOW_UP = [
    "One year after Daimler and the Renault-Nissan alliance swapped shares, the partners said on "
    "Thursday that their cooperation had grown to more than a dozen projects and that the first "
    "jointly developed products would reach showrooms earlier than planned.",
    "Nissan will build four-cylinder gasoline engines for Mercedes-Benz at its plant in Decherd, "
    "Tennessee, from 2014, the first time a Japanese carmaker will make engines for the German "
    "group in the United States. The engines will go into the next C-Class built in Alabama.",
    "The Renault Kangoo-based Mercedes-Benz Citan van, assembled by Renault in Maubeuge, is due "
    "next year, and the companies are studying a joint platform for compact premium cars that "
    "could underpin future Infiniti models.",
    "Executives stressed that the relationship remains a cooperation between independent "
    "companies. A steering committee meets every month to pick new projects, and engineers from "
    "Stuttgart and Guyancourt now share offices at a technical centre near Paris.",
    "The updated savings estimate was not disclosed, but people familiar with the talks said "
    "the engine deals alone would save each side several hundred million euros over the life "
    "of the programmes, and that electric vehicles were the next area under discussion.",
]


def autoguide_page(title: str, paragraphs: list[str]) -> str:
    body = "\n".join(f"<p>{text}</p>" for text in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | AutoGuide.com</title>
<meta property="og:title" content="{title}">
<meta property="og:site_name" content="AutoGuide.com">
<meta property="article:published_time" content="2010-04-07T11:05:00Z">
<meta name="author" content="Colum Wood"></head>
<body>
<header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/reviews">Reviews</a>
<a href="/auto-shows">Auto Shows</a> <a href="/forums">Forums</a></nav></header>
<div class="share">Share on Facebook | Tweet this | Email to a friend</div>
<article><h1>{title}</h1><p class="byline">By Colum Wood on April 7, 2010</p>
<figure><img src="/img/zetsche-ghosn.jpg" alt="">
<figcaption>Dieter Zetsche and Carlos Ghosn shake hands in Brussels. Photo: Daimler AG</figcaption>
</figure>
{body}
</article>
<aside class="related"><h3>Related stories</h3><ul>
<li><a href="/1">Smart fortwo electric drive to begin US trials this fall</a></li>
<li><a href="/2">Renault Fluence Z.E. to launch in Israel and Denmark</a></li></ul></aside>
<div class="newsletter">Get the latest car news delivered to your inbox. Subscribe now.</div>
<footer>Copyright 2010 AutoGuide.com. All rights reserved. Privacy policy. Terms of use.</footer>
</body></html>"""


def motorwire_page(title: str, paragraphs: list[str], published: str = "2010-04-07T13:40:00+02:00") -> str:
    body = "\n".join(f"<p>{text}</p>" for text in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - Motor Wire</title>
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "NewsArticle",
"headline": "{title}", "datePublished": "{published}",
"author": {{"@type": "Person", "name": "Motor Wire staff"}},
"publisher": {{"@type": "Organization", "name": "Motor Wire"}}}}</script></head>
<body>
<div id="cookie">We use cookies to improve your experience. Accept all | Settings</div>
<div class="topbar"><a href="/industry/">Industry</a> <a href="/markets/">Markets</a>
<a href="/ev/">Electric</a> <a href="/subscribe/">Subscribe</a></div>
<div class="ad">Advertisement</div>
<main><h1>{title}</h1>
<div class="meta">Motor Wire staff with agency reports</div>
<div class="story-body">
{body}
<p class="credit">Reporting by Motor Wire staff; additional reporting by agencies; editing by the desk.</p>
</div></main>
<section class="most-read"><h2>Most read</h2><ol>
<li><a href="/a">European new-car registrations rise in March</a></li>
<li><a href="/b">Volkswagen completes purchase of Suzuki stake</a></li>
<li><a href="/c">Nissan unveils all-new global Micra in Geneva</a></li></ol></section>
<section class="comments">Comments (12) | Log in to comment</section>
<footer>Motor Wire, part of an imaginary media group. Contact us. Advertise. Careers.</footer>
</body></html>"""


PAGES = {
    "wire-autoguide": (
        "https://www.autoguide.example/auto-news/2010/04/daimler-renault-nissan-sign-alliance.html",
        autoguide_page("Daimler, Renault-Nissan Sign Alliance, Swap Shares", WIRE),
    ),
    "wire-motorwire": (
        "https://motorwire.example/industry/2010/04/07/daimler-renault-nissan-cooperation/",
        motorwire_page("Daimler and Renault-Nissan seal cooperation with share swap", WIRE),
    ),
    "follow-up": (
        "https://motorwire.example/industry/2011/04/14/daimler-renault-nissan-one-year-on/",
        motorwire_page(
            "A year on, Daimler and Renault-Nissan widen their alliance",
            FOLLOW_UP,
            "2011-04-14T09:15:00+02:00",
        ),
    ),
}


def parsed(name: str):  # type: ignore[no-untyped-def]
    url, html = PAGES[name]
    return parse_html(html, url, source=name)


def test_the_parser_keeps_each_story_and_drops_most_furniture() -> None:
    autoguide, motorwire = parsed("wire-autoguide"), parsed("wire-motorwire")
    for article in (autoguide, motorwire):
        assert "3.1 percent stake in Daimler" in article.body
        assert "Most read" not in article.body
        assert "Related stories" not in article.body
    assert autoguide.title != motorwire.title


def test_wire_copies_are_similar_and_different_stories_are_not() -> None:
    """The figures behind the threshold documented in monitor/store/stories.py."""
    autoguide, motorwire, follow_up = parsed("wire-autoguide"), parsed("wire-motorwire"), parsed("follow-up")

    def signature(article) -> Signature:  # type: ignore[no-untyped-def]
        return Signature.of_text(f"{article.title}\n{article.body}")

    same = signature(autoguide).similarity(signature(motorwire))
    different = signature(motorwire).similarity(signature(follow_up))
    assert same >= 0.7 > SIMILARITY_THRESHOLD
    assert different <= 0.2 < SIMILARITY_THRESHOLD


def test_one_story_for_the_wire_copies_two_for_two_stories(database: Database) -> None:
    with database.transaction() as session:
        rows = {name: save_article(session, parsed(name), NOW) for name in PAGES}
    story = {name: row.story_id for name, row in rows.items() if row is not None}
    assert len(story) == 3
    assert story["wire-autoguide"] == story["wire-motorwire"]
    assert story["follow-up"] != story["wire-autoguide"]


@pytest.mark.parametrize(
    "order", [("wire-motorwire", "wire-autoguide"), ("wire-autoguide", "wire-motorwire")]
)
def test_clustering_does_not_depend_on_arrival_order(database: Database, order: tuple[str, str]) -> None:
    with database.transaction() as session:
        first, second = (save_article(session, parsed(name), NOW) for name in order)
    assert first is not None
    assert second is not None
    assert first.story_id == second.story_id
