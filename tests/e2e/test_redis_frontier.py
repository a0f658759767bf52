"""Two crawl processes share one scrapy-redis frontier on the real Redis: each page once.

A generated "very large" source (a news sitemap of 60 articles) on 127.0.0.1, crawled by
two ``scrapy crawl redis_news`` processes started together. The site's request log must
show every page fetched exactly once (robots.txt aside: each process reads it), every
article stored, and the round's Redis keys gone when both processes have left.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
from sqlalchemy import func, select

from monitor.demo.server import SiteServer
from monitor.store.database import Database
from monitor.store.models import ArticleRow, CrawlRun

pytestmark = [pytest.mark.slow, pytest.mark.redis]
ROOT = Path(__file__).parents[2]
ARTICLES = 60
WORDS = (
    "Carmakers across Europe are weighing new alliances as the cost of electric platforms rises, "
    "and suppliers expect more joint purchasing, shared factories and common software stacks. "
)


def _site(root: Path) -> None:
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    news = root / "news"
    news.mkdir()
    locations = []
    for number in range(1, ARTICLES + 1):
        title = f"Alliance report number {number} from the wire"
        body = "".join(f"<p>{WORDS} Report {number}, paragraph {p}.</p>" for p in range(4))
        (news / f"{number}.html").write_text(
            f"<!doctype html><html lang='en'><head><title>{title}</title>"
            f"<meta property='og:title' content='{title}'></head>"
            f"<body><article><h1>{title}</h1>{body}</article></body></html>",
            encoding="utf-8",
        )
        locations.append(
            f"<url><loc>{{{{base}}}}/news/{number}.html</loc>"
            f"<news:news><news:title>{title}</news:title></news:news></url>"
        )
    (root / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">' + "".join(locations) + "</urlset>",
        encoding="utf-8",
    )


def test_two_processes_share_one_frontier(tmp_path: Path, redis_url: str) -> None:
    root = tmp_path / "site"
    root.mkdir()
    _site(root)
    source = f"big-{uuid.uuid4().hex[:8]}"
    with SiteServer(root) as site:
        config = tmp_path / "monitor.yaml"
        config.write_text(
            f"""\
database: sqlite:///{tmp_path / "monitor.db"}
rules: [{ROOT / "rules"}]
sources:
  - name: {source}
    kind: sitemap
    url: {site.url}/sitemap.xml
    allow_private: true
""",
            encoding="utf-8",
        )
        Database.open(f"sqlite:///{tmp_path / 'monitor.db'}").close()  # the schema first: no race on it
        env = {key: value for key, value in os.environ.items() if not key.startswith("MONITOR_")}
        env["SCRAPY_SETTINGS_MODULE"] = "monitor.crawl.settings"
        command = [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "redis_news",
            "-a",
            f"source={source}",
            "-s",
            f"MONITOR_CONFIG={config}",
            "-s",
            f"REDIS_URL={redis_url}",
            "-s",
            "MONITOR_ALLOW_PRIVATE=1",
            "-s",
            "MONITOR_FRONTIER_IDLE=3",
            "-s",
            "AUTOTHROTTLE_ENABLED=0",
            "-s",
            "DOWNLOAD_DELAY=0.25",  # slow enough that the second process joins in
        ]
        processes = [
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        # While they crawl, every frontier key Redis holds has a time to live, from its first write.
        client = redis.Redis.from_url(redis_url)
        ttls: dict[str, set[int]] = {}
        while any(process.poll() is None for process in processes):
            for key in client.keys(f"monitor:frontier:{source}*"):
                ttl = int(client.ttl(key))
                if ttl != -2:  # -2: deleted meanwhile (the last one out)
                    ttls.setdefault(key.decode().rsplit(":", 1)[1], set()).add(ttl)
            time.sleep(0.05)
        client.close()
        logs = [process.communicate(timeout=180)[1].decode("utf-8", "replace") for process in processes]
        for process, log in zip(processes, logs, strict=True):
            assert process.returncode == 0, log[-3000:]
        fetched = Counter(path for path in site.requests if path != "/robots.txt")
    assert set(ttls) == {"requests", "dupefilter", "workers"}, ttls
    assert all(ttl > 0 for seen in ttls.values() for ttl in seen), ttls  # never -1 (no expiry)
    assert set(fetched) == {"/sitemap.xml"} | {f"/news/{n}.html" for n in range(1, ARTICLES + 1)}
    assert max(fetched.values()) == 1, fetched.most_common(3)  # every page fetched once

    with (
        Database.open(f"sqlite:///{tmp_path / 'monitor.db'}") as database,
        database.transaction() as session,
    ):
        stored = session.scalar(select(func.count()).select_from(ArticleRow))
        pages = list(session.scalars(select(CrawlRun.pages_fetched).where(CrawlRun.source == source)))
    assert stored == ARTICLES
    assert len(pages) == 2  # two crawl processes, each with its own run record
    assert min(pages) >= 5, pages  # both took pages from the shared queue

    client = redis.Redis.from_url(redis_url)
    assert client.keys(f"monitor:frontier:{source}*") == []  # the last one out cleaned up
    client.close()


def test_frontier_keys_expire_from_their_first_write(redis_url: str) -> None:
    from scrapy import Request
    from scrapy.settings import Settings

    from spiders.redis_news import ExpiringDupeFilter, ExpiringQueue

    name = f"monitor:frontier:ttl-{uuid.uuid4().hex[:8]}"
    spider = SimpleNamespace(name=name, ttl=77, settings=Settings({"REDIS_URL": redis_url}))
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.keys(f"{name}*") == []  # nothing exists yet, so nothing could be given a TTL
        queue = ExpiringQueue(client, spider, "%(spider)s:requests")
        queue.push(Request("http://127.0.0.1/a"))
        assert 0 < client.ttl(f"{name}:requests") <= 77
        assert queue.pop().url == "http://127.0.0.1/a"  # still scrapy-redis's queue
        seen = ExpiringDupeFilter.from_spider(spider)
        assert seen.request_seen(Request("http://127.0.0.1/a")) is False
        assert seen.request_seen(Request("http://127.0.0.1/a")) is True
        assert 0 < client.ttl(f"{name}:dupefilter") <= 77
        seen.server.close()
    finally:
        client.delete(f"{name}:requests", f"{name}:dupefilter")
        client.close()
