"""IngestPool with real spawned workers: raw pages and articles parsed by the crawl process.

The crawl process hands raw pages to the workers and, while they are behind, parses pages
itself and queues the articles; the workers must store both kinds, once each, with their
matches, and the figures must count every page once.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from monitor.config.model import load_config
from monitor.crawl.ingest import BATCH, Counts, Ingester, IngestPool, Page
from monitor.store.database import Database
from monitor.store.models import ArticleRow, MatchRow

# 20 to 24 words: not an empty body (``ingest.MIN_BODY_WORDS``), too short for story
# clustering, so each page is its own story and alert.
PAGE = """<!doctype html><html lang="en"><head><title>{title}</title></head><body><article>
<h1>{title}</h1><p>Renault will build {n} electric vans with a partner in Spain next spring,
the carmaker said on Tuesday in a statement to investors.</p>
</article></body></html>"""


def page(n: int) -> Page:
    html = PAGE.format(title=f"Renault van plan, part {n}", n=n)
    return Page(f"https://vans.example/news/{n}.html", html.encode("utf-8"), "utf-8")


def test_workers_store_raw_pages_and_articles_parsed_in_the_crawl_process(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - name: vans\n    query: Renault AND vans\n    channels: [log]\n", encoding="utf-8"
    )
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"""\
database: sqlite:///{tmp_path / "monitor.db"}
rules: ['{rules}']
sources:
  - {{name: vans, kind: feed, url: 'https://vans.example/feed.xml'}}
channels:
  log: ['json://127.0.0.1:9/unused']
""",
        encoding="utf-8",
    )
    config = load_config(path, environ={})
    Database.open(config.database_url).close()  # migrated, as monitor crawl does before a crawl
    parser = Ingester(config, config.source("vans"), None, None)
    pool = IngestPool(str(path), "vans", workers=1).start()
    counts, raw, parsed_here = Counts(), 0, 0
    for n in range(6 * BATCH):
        if pool.behind():  # the worker is still starting (importing, loading rules): it is
            articles, failures = parser.parse([page(n)])
            assert failures == []
            counts.add(Counts(pages=1))
            jobs = list(articles)
            parsed_here += 1
        else:
            jobs = [page(n)]
            raw += 1
        for job in jobs:
            assert pool.put(job, timeout=30.0)
    counts.add(pool.close(timeout=120.0))

    assert raw >= 2 * BATCH  # the first pages went to the worker raw...
    assert parsed_here > 0  # ... and once it was behind, the crawl process parsed too
    assert counts.pages == 6 * BATCH
    assert counts.stored == 6 * BATCH
    assert counts.alerts == 6 * BATCH
    with Database.open(config.database_url) as database, database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ArticleRow)) == 6 * BATCH
        assert session.scalar(select(func.count()).select_from(MatchRow)) == 6 * BATCH
