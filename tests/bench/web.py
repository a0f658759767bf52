"""Desk benchmark: p95 of the inbox, a rule page and archive search over 100,000 stored articles.

Run with ``make bench-web`` (or ``.venv/bin/python tests/bench/web.py``). Seeds a SQLite
database (``--database-url`` for another, e.g. the PostgreSQL test database) with
``--articles`` generated news articles in bulk: Core ``INSERT``s of stories, articles
(the full-text index fills through its triggers) and the matches the real rules find in
them (the rules' own matcher decides, so search and inbox agree with a crawl). Then it
starts ``monitor web`` as a child process on 127.0.0.1 and times repeated requests with a
real HTTP client (httpx). The last line sums up every figure.
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from monitor.store.database import Database  # noqa: E402
from monitor.store.models import ArticleRow, MatchRow, Story  # noqa: E402
from tests.webdesk import ruleset, write_config  # noqa: E402

COMPANIES = [
    "Daimler",
    "Renault",
    "Nissan",
    "Toyota",
    "Volkswagen",
    "Ford",
    "Hyundai",
    "Stellantis",
    "BMW",
    "Geely",
]
TOPICS = [
    "alliance",
    "partnership",
    "recall",
    "electric",
    "battery",
    "hydrogen",
    "earnings",
    "strike",
    "plant",
]
WORDS = [
    "the",
    "a",
    "said",
    "on",
    "in",
    "of",
    "to",
    "and",
    "for",
    "with",
    "after",
    "new",
    "its",
    "market",
    "sales",
    "quarter",
    "year",
    "cars",
    "models",
    "plans",
    "company",
    "analysts",
    "shares",
    "price",
    "growth",
    "factory",
    "workers",
    "europe",
    "china",
    "demand",
    "supply",
    "chips",
    "report",
    "week",
    "deal",
    "production",
    "output",
    "profit",
    "loss",
    "launch",
    "platform",
    "engine",
    "hybrid",
    "charging",
    "software",
]
SOURCES = ["wire", "autoguide", "motorwire", "carnews", "fleetdaily"]
PAGES = {
    "inbox": "/",
    "inbox filtered": "/?state=all&rule=electric&source=autoguide",
    "rule page": "/rules/electric",
    "search": "/search?q=Daimler+NEAR/10+Renault+AND+alliance*",
    "search NOT": "/search?q=hydrogen+AND+NOT+Toyota",
    "search rare": "/search?q=Stellantis+AND+strike+AND+Geely",
}


def body(rng: random.Random) -> str:
    """About 150 words of plausible car-industry prose."""
    words = []
    for _ in range(150):
        roll = rng.random()
        words.append(
            rng.choice(COMPANIES) if roll < 0.04 else rng.choice(TOPICS) if roll < 0.07 else rng.choice(WORDS)
        )
    return " ".join(words).capitalize() + "."


def seed(database: Database, config_rules: object, count: int, rng: random.Random) -> int:
    """Insert ``count`` articles (every fourth a copy of the one before) and their matches."""
    rules = config_rules
    now = datetime.now(UTC)
    matches = 0
    batch = 5000
    for start in range(1, count + 1, batch):
        numbers = range(start, min(start + batch, count + 1))
        stories, articles = [], []
        for n in numbers:
            copy = n % 4 == 0
            story = n - 1 if copy else n
            when = now - timedelta(minutes=(count - n) * 2)
            if not copy:
                stories.append({"id": story, "title": f"Story {story}", "signature": b"", "created_at": when})
                text = body(rng)
            head = f"{rng.choice(COMPANIES)} {rng.choice(TOPICS)} {rng.choice(WORDS)} #{story}"
            articles.append(
                {
                    "id": n,
                    "canonical_url": f"https://{rng.choice(SOURCES)}.example/{n}",
                    "url": f"https://bench.example/{n}",
                    "source": rng.choice(SOURCES),
                    "title": head,
                    "body": text,
                    "authors": [],
                    "published_at": when,
                    "language": "en",
                    "site_name": "Bench",
                    "fetched_at": when,
                    "story_id": story,
                }
            )
        found = []
        for row in articles:
            stored = ArticleRow(**row)
            for match in rules.match(stored.article()):  # type: ignore[attr-defined]
                found.append(
                    {
                        "rule": match.rule.name,
                        "article_id": row["id"],
                        "terms": list(match.terms),
                        "snippet": match.snippet,
                        "created_at": row["fetched_at"],
                    }
                )
        with database.transaction() as session:
            if stories:
                session.execute(insert(Story), stories)
            session.execute(insert(ArticleRow), articles)
            if found:
                session.execute(insert(MatchRow), found)
        matches += len(found)
    return matches


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=40, help="requests per page")
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.db"
        config = write_config(Path(folder), url)
        database = Database.open(url)
        started = time.perf_counter()
        matches = seed(database, ruleset(config), args.articles, random.Random(15))
        database.close()
        print(
            f"seeded {args.articles:,} articles, {matches:,} matches in {time.perf_counter() - started:.0f} s"
        )
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "monitor",
            "--config",
            str(config.path),
            "web",
            "--listen",
            f"127.0.0.1:{port}",
        ]
        server = subprocess.Popen(command, cwd=ROOT)
        try:
            figures = measure(f"http://127.0.0.1:{port}", args.repeat)
        finally:
            server.terminate()
            server.wait(10)
    summary = ", ".join(f"{name} p95 {p95:.0f} ms" for name, (p95, _median) in figures.items())
    worst = max(p95 for p95, _ in figures.values())
    verdict = "PASS" if worst < 300 else "FAIL"
    print(
        f"bench-web: {args.articles:,} articles: {summary}; worst {worst:.0f} ms ({verdict}, target < 300 ms)"
    )


def measure(base: str, repeat: int) -> dict[str, tuple[float, float]]:
    """For each page, (p95, median) in milliseconds over ``repeat`` requests (after one warm-up)."""
    with httpx.Client(base_url=base, timeout=60) as client:
        deadline = time.monotonic() + 60
        while True:
            try:
                client.get("/rules")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        figures = {}
        for name, path in PAGES.items():
            response = client.get(path)
            response.raise_for_status()
            times = []
            for _ in range(repeat):
                begun = time.perf_counter()
                client.get(path).raise_for_status()
                times.append((time.perf_counter() - begun) * 1000)
            p95 = statistics.quantiles(times, n=20)[-1]
            figures[name] = (p95, statistics.median(times))
            print(f"{name:<16} p95 {p95:6.0f} ms  median {statistics.median(times):6.0f} ms  {path}")
    return figures


if __name__ == "__main__":
    main()
