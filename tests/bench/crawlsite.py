"""The crawl benchmark's site: 2,000 generated news pages of about 50 KB, and the server for them.

Each page is ``crawl_page.html`` filled in: a mega menu with promo cards, an inline state
JSON and JSON-LD in the head, a consent banner, a share bar with SVG icons, ad slots,
"Read more" boxes inside the body, tags, an author box, related cards with ``srcset``
images, comments, a most-read list and a footer: the furniture a real outlet wraps
around 700-900 words. The words come from sentence templates with random companies,
models, places and figures, so two pages rarely share a phrase (as two real articles
rarely do: story clustering sees distinct stories). A page is about one to three of the
rules' 4,000 companies, and half the pages about one topic the rules look for (an
alliance, a recall, a strike...). ``serve`` runs a keep-alive asyncio HTTP server in its
own process and sends every page gzip-compressed, as real servers do.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import random
import re
from pathlib import Path
from string import Template
from typing import Any


def words(text: str) -> list[str]:
    """The words of ``text``: long word lists stay readable in the source."""
    return text.split()


TEMPLATE = Template((Path(__file__).with_name("crawl_page.html")).read_text(encoding="utf-8"))
SECTIONS = ["News", "Reviews", "Electric", "Industry", "Motorsport", "Tech", "Used Cars", "Video"]
MODELS = words("Aurel Brio Cadenza Delta Estrel Fiorin Gala Helix Iona Juno Kappa Lumen Mistral Nova Orion")
MAKERS = words("Volkswagen Renault Stellantis Toyota Hyundai BMW Ford Honda Nissan Geely BYD Volvo Kia Tesla")
CITIES = words(
    "Wolfsburg Stuttgart Munich Ingolstadt Cologne Paris Turin Detroit Seoul Shanghai Shenzhen "
    "Pune Barcelona Valencia Gothenburg Coventry Sunderland Kecskemet Bratislava Zwickau "
    "Leipzig Tokyo Nagoya Chennai Puebla Monterrey Ontario Michigan Ohio Tennessee Kentucky "
    "Geneva Brussels Vienna Prague Milan"
)
COUNTRIES = words("Germany France Italy Spain China Japan India Brazil Mexico Canada Sweden Poland Korea")
ROLES = (
    "chief executive",
    "finance chief",
    "head of sales",
    "chief technology officer",
    "works council head",
)
PEOPLE = words("Anna Lukas Marie Jonas Sofia Elias Mia Noah Lea Paul Clara Felix Ines Hugo Ravi Mei Kenji")
SURNAMES = words("Berger Kovac Moreau Rossi Tanaka Novak Silva Larsen Weber Costa Dubois Kim Patel Haas")
SEGMENTS = ("electric cars", "plug-in hybrids", "light trucks", "compact SUVs", "vans", "premium sedans")
METRICS = (
    "operating margin",
    "free cash flow",
    "order intake",
    "battery costs",
    "deliveries",
    "market share",
)
BANKS = ("Bernstein", "UBS", "Jefferies", "Barclays", "Citi", "Evercore", "Exane", "Kepler", "BNP Paribas")
TOPICS = (  # what a page may be about: the words the rules look for
    "a possible alliance",
    "a partnership on batteries",
    "a joint venture for software",
    "a recall of {n} vehicles",
    "a strike at two plants",
    "layoffs in its engine division",
    "an investigation by regulators",
    "the launch of a new platform",
    "a merger of their truck units",
)
NEUTRAL = (  # everything else pages talk about
    "higher raw material costs",
    "its dealer network in {country}",
    "quarterly results",
    "the supply of chips",
    "software updates over the air",
    "new paint shops",
    "demand for {segment}",
    "the cost of steel and aluminium",
    "charging stations along motorways",
    "its plans for {segment}",
)
SENTENCES = (
    "{company} said on {day} that it would build {n} {segment} a year at its plant in {city} from {year}.",
    "Analysts at {bank} expect {company}'s {metric} to {move} by {pct} percent in the {quarter} quarter.",
    "The new {model} goes on sale in {country} in {month}, priced from {price} euros, {company} said.",
    "{person}, {company}'s {role}, told reporters in {city} that talks with {company2} were about {topic}.",
    "Sales of {segment} in {country} rose {pct} percent in {month}, according to figures from {bank}.",
    "{company} and {company2} have discussed {topic} since {month}, two people familiar with it said.",
    "Shares of {company} {moved} {pct} percent in {city} trading after the company reported {topic}.",
    "The {model} uses a {kwh} kWh battery supplied by {company2} and has a range of {km} kilometres.",
    "Unions in {country} warned that {topic} could affect {n} jobs at {company} by {year}.",
    "{company} will invest {bn} billion euros in {country} over the next {years} years, {person} said.",
    "Regulators in {country} opened a review of {company}'s {segment} after {n} complaints in {month}.",
    "Dealers reported waits of {weeks} weeks for the {model}, while {company2} cut prices by {pct} percent.",
    "In the {quarter} quarter {company} delivered {n} vehicles, {pct} percent more than a year earlier.",
    "{person} said the group aimed to halve costs for {segment} by {year}, sharing parts with {company2}.",
    "Engineers in {city} are testing the {model} in temperatures down to minus {pct} degrees.",
    "Customers in {country} ordered {n} units of the {model} in {month}, dealers said.",
    "The plant in {city} will switch to {segment} in {year}, a spokesman said on {day}.",
)
DAYS = words("Monday Tuesday Wednesday Thursday Friday")
MONTHS = words("January February March April May June July August September October November December")
CARD = Template(
    '<div class="card card--related" data-position="$index"><div class="card__media">'
    '<a href="$href" tabindex="-1"><picture><source type="image/webp" srcset="$srcset">'
    '<img src="https://cdn.example.com/img/$index-640.jpg" srcset="$srcset" '
    'sizes="(max-width: 768px) 100vw, 33vw" alt="" loading="lazy" width="640" height="360"></picture></a>'
    '</div><div class="card__body"><span class="card__kicker">$section</span><h3 class="card__title">'
    '<a href="$href">$title</a></h3><time class="card__time" datetime="2026-10-$day">$hours hours ago</time>'
    "</div></div>"
)
COMMENT = Template(
    '<li class="comment"><div class="comment__meta"><span class="comment__author">reader$reader</span>'
    '<time>$hours hours ago</time></div><p class="comment__text">$text</p>'
    '<div class="comment__actions"><button>Reply</button><button>Like</button></div></li>'
)


def sentence(rng: random.Random, names: list[str], topic: str | None) -> str:
    """One news sentence about ``names`` (the first ones most often); ``topic`` in about one in five."""
    subject = topic if topic is not None and rng.random() < 0.2 else rng.choice(NEUTRAL)
    weights = [8, 4, 1, 1, 1][: len(names)]
    return rng.choice(SENTENCES).format(
        company=rng.choices(names, weights)[0],
        company2=rng.choices(names, weights)[0],
        topic=_fill(subject, rng),
        day=rng.choice(DAYS),
        month=rng.choice(MONTHS),
        quarter=rng.choice(("first", "second", "third", "fourth")),
        move=rng.choice(("rise", "fall", "recover", "improve", "shrink")),
        moved=rng.choice(("rose", "fell", "jumped", "slipped", "climbed")),
        bank=rng.choice(BANKS),
        n=rng.randint(5, 950) * 100,
        segment=rng.choice(SEGMENTS),
        metric=rng.choice(METRICS),
        city=rng.choice(CITIES),
        country=rng.choice(COUNTRIES),
        year=rng.randint(2026, 2032),
        years=rng.randint(3, 10),
        pct=f"{rng.randint(1, 40)}.{rng.randint(0, 9)}",
        price=f"{rng.randint(18, 95)},{rng.randint(0, 9)}00",
        model=f"{rng.choice(MODELS)} {rng.choice('EQTXGSL')}{rng.randint(1, 9)}",
        person=f"{rng.choice(PEOPLE)} {rng.choice(SURNAMES)}",
        role=rng.choice(ROLES),
        kwh=rng.randint(40, 110),
        km=rng.randint(300, 700),
        bn=rng.randint(1, 20),
        weeks=rng.randint(4, 40),
    )


def page(index: int, base: str, world: list[tuple[str, list[str]]]) -> tuple[str, bytes]:
    """The path and HTML of page ``index``: about 50 KB, furniture included."""
    rng = random.Random(index)
    about = [rng.choice(world)[0] for _ in range(rng.choice((1, 2, 2, 3)))]
    names = [*about, rng.choice(MAKERS), rng.choice(MAKERS)]
    topic = _fill(rng.choice(TOPICS), rng) if rng.random() < 0.5 else None
    text = [sentence(rng, names, topic) for _ in range(60)]
    words = re.sub(r"[^\w\s-]", "", " ".join(rng.sample(text, 20)).lower()).split()
    title = f"{names[0]} and {names[1]}: {topic or _fill(rng.choice(NEUTRAL), rng)}"
    path = f"/news/2026/11/{names[0].lower()}-{names[1].lower()}-{index}.html"
    date = f"2026-11-{1 + index % 28:02d}T{index % 24:02d}:{index % 60:02d}:00Z"
    author = f"{rng.choice(PEOPLE)} {rng.choice(SURNAMES)}"
    html = TEMPLATE.substitute(
        base=base,
        url=base + path,
        index=index,
        title=title,
        description=" ".join(words[:30]),
        date=date,
        day=date[:10],
        css="".join(
            f".c{k}{{margin:{k % 7}px;padding:{k % 5}px;color:#{k * 37 % 4096:03x}}}" for k in range(120)
        ),
        ld=_json_ld(title, date, author, base + path, base),
        state=_state(rng, index, words),
        logo=_icon(rng),
        nav="".join(_nav_item(rng, base, section, words, n) for n, section in enumerate(SECTIONS)),
        ticker="".join(
            f'<a href="{base}/news/breaking-{k}.html">{rng.choice(text)[:70]}</a>' for k in range(5)
        ),
        standfirst=rng.choice(text),
        avatar=index % 9,
        author=author,
        author_slug=author.lower().replace(" ", "-"),
        share="".join(
            _share(rng, base + path, name) for name in ("facebook", "x", "linkedin", "whatsapp", "email")
        ),
        caption=rng.choice(text),
        body=_body(rng, base, text, words),
        tags="".join(f'<li><a href="{base}/tag/{word}/">{word}</a></li>' for word in words[:8]),
        related="".join(_card(rng, base, words, k) for k in range(7)),
        comments="".join(
            COMMENT.substitute(reader=rng.randint(1, 9999), hours=k + 1, text=rng.choice(text))
            for k in range(6)
        ),
        popular="".join(
            f'<li class="popular__item"><span class="popular__rank">{k + 1}</span>'
            f'<a href="{base}/news/2026/11/pop-{k}.html">{_headline(rng, words, 10)}</a></li>'
            for k in range(10)
        ),
        footer="".join(_footer_column(rng, base, section, words) for section in SECTIONS[:5]),
        social="".join(_icon(rng) for _ in range(5)),
    )
    return path, html.encode("utf-8")


def build_site(base: str, count: int, world: list[tuple[str, list[str]]]) -> dict[str, bytes]:
    """Path -> gzip-compressed body, for every page, the sitemap and robots.txt."""
    pages = dict(page(index, base, world) for index in range(count))
    urls = "".join(f"<url><loc>{base}{path}</loc></url>" for path in pages)
    pages["/sitemap.xml"] = (
        f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    ).encode()
    pages["/robots.txt"] = b"User-agent: *\nAllow: /\n"
    return {path: gzip.compress(body, 6) for path, body in pages.items()}


def serve(report: Any, port: int, count: int, world: list[tuple[str, list[str]]]) -> None:
    """Serve the site on 127.0.0.1:``port`` (keep-alive, gzip); report (average size, pages) when ready."""
    site = build_site(f"http://127.0.0.1:{port}", count, world)
    sizes = [len(gzip.decompress(body)) for path, body in site.items() if path.startswith("/news/")]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode().split("?", 1)[0]
                body = site.get(path)
                if body is None:
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                else:
                    ctype = b"text/html; charset=utf-8" if path.endswith(".html") else b"application/xml"
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype + b"\r\nContent-Encoding: gzip\r\n"
                        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                    )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=256)
        report.send((sum(sizes) / len(sizes), len(sizes)))
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def _fill(phrase: str, rng: random.Random) -> str:
    return phrase.format(
        n=rng.randint(2, 90) * 1000, segment=rng.choice(SEGMENTS), country=rng.choice(COUNTRIES)
    )


def _headline(rng: random.Random, words: list[str], length: int) -> str:
    return " ".join(rng.choice(words) for _ in range(length)).capitalize()


def _icon(rng: random.Random) -> str:
    points = " ".join(f"{rng.randint(0, 24)},{rng.randint(0, 24)}" for _ in range(14))
    return f'<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M{points}Z"/></svg>'


def _card(rng: random.Random, base: str, words: list[str], index: int) -> str:
    section = rng.choice(SECTIONS)
    href = f"{base}/{section.lower().replace(' ', '-')}/2026/10/story-{rng.randint(0, 99999)}.html"
    srcset = ", ".join(f"https://cdn.example.com/img/{index}-{w}.jpg {w}w" for w in (320, 640, 960, 1280))
    return CARD.substitute(
        index=index,
        href=href,
        srcset=srcset,
        section=section,
        title=_headline(rng, words, rng.randint(6, 11)),
        day=f"{rng.randint(1, 28):02d}",
        hours=rng.randint(1, 23),
    )


def _nav_item(rng: random.Random, base: str, section: str, words: list[str], n: int) -> str:
    root = f"{base}/{section.lower().replace(' ', '-')}"
    links = "".join(
        f'<li class="nav__subitem"><a href="{root}/{rng.choice(words)}-{k}/">'
        f"{_headline(rng, words, 2)}</a></li>"
        for k in range(9)
    )
    return (
        f'<li class="nav__item nav__item--has-children"><a class="nav__link" href="{root}/">{section}</a>'
        f'<div class="nav__panel"><ul class="nav__sub">{links}</ul>'
        f'<div class="nav__promo">{_card(rng, base, words, 90 + n)}</div></div></li>'
    )


def _share(rng: random.Random, url: str, name: str) -> str:
    return (
        f'<li><a class="share share--{name}" href="https://{name}.example/share?u={url}" rel="noopener">'
        f'{_icon(rng)}<span class="sr-only">Share on {name}</span></a></li>'
    )


def _body(rng: random.Random, base: str, text: list[str], words: list[str]) -> str:
    parts = []
    for n in range(rng.randint(14, 18)):
        link = f' <a href="{base}/news/2026/10/{rng.choice(words)}-{n}.html">{_headline(rng, words, 2)}</a>'
        parts.append(f"<p>{' '.join(rng.sample(text, rng.randint(2, 4)))}{link if n % 4 == 1 else ''}</p>")
        if n in (4, 11):
            parts.append(
                '<aside class="read-more"><strong>Read more:</strong> '
                f'<a href="{base}/news/2026/10/more-{n}.html">{_headline(rng, words, 9)}</a></aside>'
                f'<div class="ad ad--inline" data-slot="inline-{n}" aria-hidden="true"></div>'
            )
    return "".join(parts)


def _footer_column(rng: random.Random, base: str, section: str, words: list[str]) -> str:
    root = f"{base}/{section.lower().replace(' ', '-')}"
    links = "".join(f'<li><a href="{root}/{k}/">{_headline(rng, words, 1)}</a></li>' for k in range(10))
    return f'<div class="footer__col"><h4>{section}</h4><ul>{links}</ul></div>'


def _state(rng: random.Random, index: int, words: list[str]) -> str:
    return json.dumps(
        {
            "page": {"type": "article", "id": index, "section": rng.choice(SECTIONS), "tags": words[:12]},
            "ads": {
                f"slot{k}": {"sizes": [[300, 250], [728, 90]], "targeting": words[k : k + 5]}
                for k in range(12)
            },
            "navigation": [{"label": s, "children": [rng.choice(words) for _ in range(9)]} for s in SECTIONS],
            "user": {
                "loggedIn": False,
                "consent": None,
                "experiments": {f"exp{k}": k % 3 for k in range(30)},
            },
            "trending": [_headline(rng, words, 8) for _ in range(20)],
        }
    )


def _json_ld(title: str, date: str, author: str, url: str, base: str) -> str:
    article = {
        "@type": "NewsArticle",
        "headline": title,
        "datePublished": date,
        "dateModified": date,
        "author": {"@type": "Person", "name": author},
        "mainEntityOfPage": url,
        "publisher": {"@type": "Organization", "name": "Bench Motor News"},
        "inLanguage": "en",
    }
    crumbs = {
        "@type": "BreadcrumbList",
        "itemListElement": [{"@type": "ListItem", "position": 1, "name": "News", "item": f"{base}/news/"}],
    }
    return json.dumps({"@context": "https://schema.org", "@graph": [article, crumbs]})
