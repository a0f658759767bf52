"""Crawl benchmark: bare Scrapy beside the full pipeline, on 2,000 realistic pages, in one run.

Run with ``make bench-crawl`` (or ``.venv/bin/python tests/bench/crawl.py``). It serves
2,000 generated article pages of about 50 KB with the furniture of a real news site
(``crawlsite.py``: mega menu, inline state JSON, JSON-LD, share bar, ad slots, related
cards, comments, footer) gzip-compressed from an asyncio server in its own process on
127.0.0.1, with a robots.txt and a sitemap, and measures one after the other:

- bare Scrapy: a minimal spider that reads the sitemap, fetches every page and reads its
  ``<title>`` (Scrapy's own middlewares, nothing of monitor's);
- the full pipeline, on each of the two paths a crawl can take (``--path``, both by default):
  ``engine``, a crawler of the in-process engine (``monitor.crawl.engine``, what
  ``monitor crawl`` and ``monitor run`` use by default), started in a child process of this
  file; ``child``, ``monitor.crawl.runner.crawl_source``, the ``scrapy crawl news`` child
  process of ``crawl.in_process: false``. Both run monitor's middlewares (address guard,
  robots policy, Retry-After), parse every page (lxml, trafilatura), match it against 10,000
  rules read from a rules file in the rule language (``tests/bench/matching.py``'s mix over
  4,000 companies: entities, NEAR/ONEAR, wildcards, title scope, NOT; the files are read
  into ``monitor.watch.cache`` before, as after any first crawl), store it in SQLite with
  story clustering, and write the alerts. With ``--workers 1`` (the default) one worker
  process parses, matches and stores; on the child path the crawl process parses too while
  the worker is behind (``monitor.crawl.ingest``), on the engine the crawl process only
  fetches (``monitor.crawl.sharedingest``); ``--workers 0`` parses in the crawl process (the
  engine: in a thread of it).

Every crawl uses the same concurrency (32 requests in flight) with AutoThrottle off: the
server is ours, and the point is throughput, not politeness delays. Pages/s is pages over
the wall time of the crawl process, start-up included (Scrapy's; for the pipeline also
loading the 10,000 compiled rules from the cache). The steady rate beside it counts from the first
page fetched (bare) or stored (full) to the last; CPU ms/page is the CPU time of the
crawl's processes per page, the figure other work on a shared machine does not change.
Peak memory is the largest sum of the resident set sizes of the crawl's process tree
(crawl process and workers), sampled from /proc every 250 ms; the page server is not
counted. The ``processes:`` line gives each process's peak RSS and CPU seconds.
``--rounds N`` runs each crawl N times, alternating, and keeps each one's best round. The
last line sums it all up; its ``ratio`` is the first path's (the engine's unless ``--path``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml  # noqa: E402
from crawlsite import serve  # noqa: E402

from monitor.watch.cache import load_rules_cached  # noqa: E402

PAGES = 2_000
RULES = 10_000
COMPANIES = 4_000
CONCURRENCY = 32
BENCH_SETTINGS = {"AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS": CONCURRENCY}


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- bare Scrapy (run as a child: this file with --bare URL OUT) -------------------------------------
def run_bare(url: str, out: str) -> None:
    """A minimal spider: the sitemap, then every page, reading only its title."""
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.sitemap import Sitemap

    figures = {"pages": 0, "titles": 0, "first": 0.0, "last": 0.0}

    class BareSpider(scrapy.Spider):
        name = "bare"

        async def start(self) -> Any:
            yield scrapy.Request(url, callback=self.parse_sitemap)

        def parse_sitemap(self, response: Any) -> Iterator[scrapy.Request]:
            for entry in Sitemap(response.body):
                yield scrapy.Request(entry["loc"], callback=self.parse_page)

        def parse_page(self, response: Any) -> None:
            now = time.monotonic()
            figures["first"] = figures["first"] or now
            figures["last"] = now
            figures["pages"] += 1
            figures["titles"] += bool(response.css("title::text").get())

    process = CrawlerProcess(
        {
            "ROBOTSTXT_OBEY": True,
            "CONCURRENT_REQUESTS": CONCURRENCY,
            "CONCURRENT_REQUESTS_PER_DOMAIN": CONCURRENCY,
            "AUTOTHROTTLE_ENABLED": False,
            "TELNETCONSOLE_ENABLED": False,
            "LOG_LEVEL": "WARNING",
            "USER_AGENT": "monitor-bench/0.1 (+https://github.com/monitor-news/monitor)",
            "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        }
    )
    process.crawl(BareSpider)
    process.start()
    Path(out).write_text(json.dumps(figures), encoding="utf-8")


# -- the engine (run as a child: this file with --engine CONFIG OUT) --------------------------------
def run_engine(config_path: str, out: str) -> None:
    """The full pipeline as ``monitor crawl`` runs it by default: a crawler of the in-process engine."""
    from monitor.config.model import load_config
    from monitor.crawl.engine import CrawlEngine

    config = load_config(config_path, environ={})
    engine = CrawlEngine(config, settings=BENCH_SETTINGS)
    try:
        (result,) = engine.crawl([config.source("bench")])
    finally:
        engine.stop()
    Path(out).write_text(json.dumps({"ok": result.ok, "pages": result.pages, "error": result.error}))


# -- measuring --------------------------------------------------------------------------------
class TreeMemory:
    """Peak of the summed RSS of this process's descendants (minus ``exclude``), from /proc."""

    def __init__(self, exclude: set[int]) -> None:
        self.exclude = exclude
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._ticks = os.sysconf("SC_CLK_TCK")
        self.processes: dict[int, tuple[int, str]] = {}  # pid -> (peak RSS, role)
        self.cpu: dict[int, float] = {}

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.peak = max(self.peak, self._sample())

    def _sample(self) -> int:
        parents: dict[int, int] = {}
        rss: dict[int, int] = {}
        cpu: dict[int, float] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                statm = Path(f"/proc/{entry}/statm").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(statm.split()[1]) * self._page
            cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / self._ticks
        me, total = os.getpid(), 0
        for pid in rss:
            ancestor, hops = parents.get(pid), 0
            while ancestor not in (None, 0, 1, me) and hops < 20:
                ancestor, hops = parents.get(ancestor), hops + 1
            if ancestor == me and pid not in self.exclude:
                total += rss[pid]
                role = "crawl" if parents.get(pid) == me else "worker"
                peak, _ = self.processes.get(pid, (0, role))
                self.processes[pid] = (max(peak, rss[pid]), role)
                self.cpu[pid] = cpu[pid]
        return total

    def roles(self) -> str:
        """Peak RSS and CPU seconds (as last sampled) of each busy process, crawl process first.

        Helpers that do no work (multiprocessing's resource trackers) are left out.
        """
        ordered = sorted(self.processes.items(), key=lambda item: (item[1][1] != "crawl", item[0]))
        return ", ".join(
            f"{role} {peak / 2**20:.0f} MB {self.cpu.get(pid, 0.0):.1f} s CPU"
            for pid, (peak, role) in ordered
            if self.cpu.get(pid, 0.0) >= 0.5
        )


def measure_bare(url: str, work: Path, server_pid: int) -> dict[str, float]:
    out = work / "bare.json"
    started, cpu = time.monotonic(), children_cpu()
    with TreeMemory({server_pid}) as memory:
        subprocess.run([sys.executable, __file__, "--bare", url, str(out)], check=True)
    seconds = time.monotonic() - started
    figures = json.loads(out.read_text(encoding="utf-8"))
    return {
        **figures,
        "seconds": seconds,
        "cpu": children_cpu() - cpu,
        "memory": memory.peak,
        "steady": figures["last"] - figures["first"],
    }


def children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process and its own children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def write_rules(work: Path, count: int, world_size: int) -> list[tuple[str, list[str]]]:
    """10,000 rules in the rule language, as a rules file; returns the companies they name."""
    from matching import companies, make_rules

    rng = random.Random(7)
    world = companies(world_size, rng)
    rules, entities = make_rules(count, world, rng)
    document = {
        "entities": entities,
        "rules": [
            {"name": rule.name, "query": rule.query, "channels": ["bench"], "min_mentions": rule.min_mentions}
            for rule in rules
        ],
    }
    (work / "rules").mkdir()
    (work / "rules" / "bench.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    load_rules_cached([work / "rules"])  # as after a first crawl: every crawl process reads this cache
    return world


def measure_full(
    url: str, work: Path, rules: Path, server_pid: int, workers: int, pages: int, path: str
) -> dict[str, float]:
    """The full pipeline on ``path``: ``engine`` (the in-process engine) or ``child`` (``scrapy crawl``)."""
    from sqlalchemy import func, select

    from monitor.config.model import load_config
    from monitor.crawl.runner import crawl_source
    from monitor.store.database import Database
    from monitor.store.models import ArticleRow, MatchRow

    work.mkdir()
    config_path = work / "monitor.yaml"
    config_path.write_text(
        f"""\
database: sqlite:///{work / "bench.db"}
rules: ['{rules}']
crawl: {{per_domain: {CONCURRENCY}, workers: {workers}, page_timeout: 60s, timeout: 20m,
        max_entries: {pages}}}
sources:
  - {{name: bench, kind: sitemap, url: '{url}', allow_private: true}}
channels:
  bench: ['json://127.0.0.1:9/unused']
""",
        encoding="utf-8",
    )
    config = load_config(config_path, environ={})
    Database.open(config.database_url).close()  # migrated before, as `monitor crawl` does
    out = work / "engine.json"
    started, cpu = time.monotonic(), children_cpu()
    with TreeMemory({server_pid}) as memory:
        if path == "engine":
            subprocess.run([sys.executable, __file__, "--engine", str(config_path), str(out)], check=True)
            result = json.loads(out.read_text(encoding="utf-8"))
            ok, fetched, error = result["ok"], result["pages"], result["error"]
        else:
            crawled = crawl_source(config, config.source("bench"), settings=BENCH_SETTINGS)
            ok, fetched, error = crawled.ok, crawled.pages, crawled.error
    seconds = time.monotonic() - started
    cpu = children_cpu() - cpu
    if not ok:
        raise SystemExit(f"full pipeline crawl ({path}) failed: {error}")
    with Database(config.database_url) as database, database.transaction() as session:
        stored = session.scalar(select(func.count()).select_from(ArticleRow)) or 0
        matches = session.scalar(select(func.count()).select_from(MatchRow)) or 0
        first, last = session.execute(
            select(func.min(ArticleRow.fetched_at), func.max(ArticleRow.fetched_at))
        ).one()
    print(f"  processes: {memory.roles()}")
    return {
        "pages": fetched - 2,  # robots.txt and the sitemap
        "stored": stored,
        "matches": matches,
        "seconds": seconds,
        "cpu": cpu,
        "memory": memory.peak,
        "steady": (last - first).total_seconds() if first and last else seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pages", type=int, default=PAGES)
    parser.add_argument("--rules", type=int, default=RULES)
    parser.add_argument("--workers", type=int, default=1, help="worker processes of the full pipeline")
    parser.add_argument("--rounds", type=int, default=1, help="run each crawl this many times, keep the best")
    parser.add_argument(
        "--path",
        choices=("both", "engine", "child"),
        default="both",
        help="the full pipeline on the in-process engine (`monitor crawl`'s default), a child, or both",
    )
    parser.add_argument("--bare", nargs=2, metavar=("URL", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--engine", nargs=2, metavar=("CONFIG", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare:
        run_bare(*args.bare)
        return 0
    if args.engine:
        run_engine(*args.engine)
        return 0
    paths = ["engine", "child"] if args.path == "both" else [args.path]
    with tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp:
        work = Path(tmp)
        world = write_rules(work, args.rules, COMPANIES)
        port = free_port()
        context = multiprocessing.get_context("spawn")
        receive, send = context.Pipe(duplex=False)
        server = context.Process(target=serve, args=(send, port, args.pages, world), daemon=True)
        server.start()
        average, count = receive.recv()
        assert server.pid is not None
        url = f"http://127.0.0.1:{port}/sitemap.xml"
        print(
            f"{count} pages of {average / 1024:.1f} KB on average (served gzip-compressed), "
            f"{args.rules} rules, {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f}), "
            f"{args.workers} worker(s)"
        )
        bares: list[dict[str, float]] = []
        fulls: dict[str, list[dict[str, float]]] = {path: [] for path in paths}
        try:
            for round_ in range(args.rounds):
                bares.append(measure_bare(url, work, server.pid))
                print(report("bare Scrapy", bares[-1]))
                for path in paths:
                    full_work = work / f"{path}-{round_}"
                    full = measure_full(
                        url, full_work, work / "rules", server.pid, args.workers, args.pages, path
                    )
                    fulls[path].append(full)
                    print(report(f"full ({path})", full))
        finally:
            server.kill()
    bare = max(bares, key=lambda figures: figures["pages"] / figures["seconds"])
    bare_rate = bare["pages"] / bare["seconds"]
    parts, ok = [f"bare {bare_rate:.0f} pages/s"], True
    for path in paths:
        full = max(fulls[path], key=lambda figures: figures["pages"] / figures["seconds"])
        full_rate = full["pages"] / full["seconds"]
        steady = (full["stored"] / full["steady"]) / (bare["pages"] / bare["steady"])
        ratio = full_rate / bare_rate
        ok = ok and ratio >= 0.5 and full["memory"] < 500 * 2**20 and full["stored"] == count
        name = "ratio" if path == paths[0] else f"{path} ratio"
        parts.append(
            f"{path} {full_rate:.0f} pages/s, {name} {ratio:.2f} (steady {steady:.2f}), "
            f"CPU {full['cpu'] * 1000 / full['pages']:.1f} ms/page, peak {full['memory'] / 2**20:.0f} MB"
        )
    print(f"bench-crawl: {' | '.join(parts)}; target ratio >= 0.5 and < 500 MB: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


def report(label: str, figures: dict[str, float]) -> str:
    """One line of figures for one crawl."""
    rate = figures["pages"] / figures["seconds"]
    done = figures.get("stored", figures["pages"])
    extra = (
        f", {figures['stored']:.0f} stored, {figures['matches']:.0f} matches" if "stored" in figures else ""
    )
    return (
        f"{label + ':':<15}{figures['pages']:.0f} pages{extra} in {figures['seconds']:.1f} s "
        f"= {rate:.0f} pages/s (steady {done / max(figures['steady'], 1e-9):.0f}), "
        f"CPU {figures['cpu'] * 1000 / figures['pages']:.1f} ms/page, peak {figures['memory'] / 2**20:.0f} MB"
    )


if __name__ == "__main__":
    sys.exit(main())
