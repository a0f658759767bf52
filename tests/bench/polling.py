"""Polling benchmark: ``monitor run`` watching 2,000 feeds at a 5-minute interval, beside the old path.

Run with ``make bench-polling`` (or ``.venv/bin/python tests/bench/polling.py``). A feed
server in its own process listens on ``--hosts`` ports of 127.0.0.1 (so robots.txt is cached
per host: ``127.0.0.1:port`` is a host) and serves ``--feeds`` RSS feeds with an ETag,
answering 304 to a conditional GET when nothing changed, and a robots.txt with
``Cache-Control: max-age=86400``. The database (SQLite) starts with every feed's validators
stored, as after a first crawl, so every poll is a conditional GET; ``--changing`` feeds get
a new item during the run (at a random moment in the first minute), an article page that
one of the rules matches. The rules are ``--rules`` rules of ``tests/bench/matching.py``'s
mix (the crawl benchmark's file) plus that one rule; alerts go to a webhook receiver in this
process (apprise ``json://``).

Measured, one after the other:

- the new engine: ``monitor run`` as a child process for ``--window`` seconds (default: the
  interval plus a minute, so every feed is polled once and every new item is seen). Its CPU
  (user + system, from /proc) over the polls it made gives CPU per poll, scheduler, dispatcher
  and the few polls with a new item included; CPU share is that CPU over the window and the
  cores; peak RSS is sampled every 250 ms. The first polls are spread over the interval, so
  this window is one steady cycle: nothing is extrapolated unless ``--feeds``/``--interval``
  are scaled down (the summary then says so);
- latency: from each new item's publication to its alert's arrival at the webhook, p50/p95;
- the old path: ``crawl_source`` (a ``scrapy crawl`` child per crawl) on ``--sample`` polls of
  unchanged feeds: CPU of the children and of this process per poll.

The last line sums it up with ``ratio N`` = CPU per poll, old / new.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

FEEDS = 2_000
HOSTS = 20
RULES = 10_000
CHANGING = 20
INTERVAL = 300
WORDS = [
    *[
        "plant",
        "output",
        "electric",
        "battery",
        "supplier",
        "contract",
        "quarter",
        "margin",
        "platform",
        "model",
        "recall",
    ],
    *[
        "factory",
        "union",
        "strike",
        "charging",
        "software",
        "chip",
        "investment",
        "market",
        "share",
        "dealer",
        "price",
    ],
]
WARM_UP = 20.0  # seconds of monitor run's start-up (imports, rules) left out of the per-poll figure


# -- the feed server (its own process) ---------------------------------------------------------
def serve(report: Any, ports: list[int], feeds: int, publish: dict[int, float]) -> None:
    """Serve ``feeds`` feeds over ``ports``; feed ``i`` gets a new item at ``publish[i]`` (epoch s)."""
    import asyncio

    def feed(index: int, base: str) -> tuple[str, bytes]:
        fresh = index in publish and time.time() >= publish[index]
        items = [(f"/a/{index}/{k}.html", f"Old story {k} of feed {index}") for k in range(3)]
        if fresh:
            items.insert(0, (f"/a/{index}/new.html", f"Zorblax unveils plan {index}"))
        body = "".join(
            f"<item><title>{title}</title><link>{base}{path}</link>"
            f"<pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate></item>"
            for path, title in items
        )
        etag = f'"v{int(fresh)}"'
        return etag, (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {index}</title>'
            f"<link>{base}/</link><description>bench</description>{body}</channel></rss>"
        ).encode()

    def article(index: int) -> bytes:
        rng = random.Random(index)
        text = " ".join(rng.choice(WORDS) for _ in range(300))
        return (
            f"<html><head><title>Zorblax unveils plan {index}</title></head><body><article>"
            f"<h1>Zorblax unveils plan {index}</h1><p>Zorblax {index} said today {text}.</p>"
            f"<p>{text[::-1]}</p></article></body></html>"
        ).encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = writer.get_extra_info("sockname")[1]
        base = f"http://127.0.0.1:{port}"
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                match = None
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"if-none-match:"):
                        match = line.split(b":", 1)[1].strip().decode()
                status, headers, body = "200 OK", "", b""
                if path == "/robots.txt":
                    headers, body = "Cache-Control: max-age=86400\r\n", b"User-agent: *\nAllow: /\n"
                elif path.startswith("/f/"):
                    etag, body = feed(int(path[3:].split(".")[0]), base)
                    headers = f"ETag: {etag}\r\nContent-Type: application/rss+xml\r\n"
                    if match == etag:
                        status, body = "304 Not Modified", b""
                elif path.endswith("/new.html"):
                    body = article(int(path.split("/")[2]))
                    headers = "Content-Type: text/html; charset=utf-8\r\n"
                else:
                    status = "404 Not Found"
                writer.write(
                    f"HTTP/1.1 {status}\r\n{headers}Content-Length: {len(body)}\r\n\r\n".encode() + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        servers = [await asyncio.start_server(handle, "127.0.0.1", port, backlog=512) for port in ports]
        report.send("ready")
        await asyncio.gather(*(server.serve_forever() for server in servers))

    asyncio.run(main())


class Sink(BaseHTTPRequestHandler):
    """The webhook receiver: keeps (arrival time, title) of each alert."""

    arrivals: list[tuple[float, str]] = []  # noqa: RUF012

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            title = str(json.loads(body).get("title", ""))
        except ValueError:
            title = ""
        Sink.arrivals.append((time.time(), title))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


def free_ports(count: int) -> list[int]:
    import socket

    sockets = []
    for _ in range(count):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        sockets.append(probe)
    ports = [int(probe.getsockname()[1]) for probe in sockets]
    for probe in sockets:
        probe.close()
    return ports


def write_config(work: Path, ports: list[int], feeds: int, interval: int, sink: int) -> Path:
    schedule = f"schedule: {{every: {interval}s, jitter: 0}}"
    sources = "".join(
        f"  - {{name: feed-{index}, kind: feed, allow_private: true, {schedule}, "
        f"url: 'http://127.0.0.1:{ports[index % len(ports)]}/f/{index}.xml'}}\n"
        for index in range(feeds)
    )
    (work / "rules" / "zorblax.yaml").write_text(
        "rules:\n  - name: zorblax\n    query: 'zorblax'\n    channels: [bench]\n", encoding="utf-8"
    )
    path = work / "monitor.yaml"
    path.write_text(
        f"database: sqlite:///{work / 'bench.db'}\nrules: ['{work / 'rules'}']\n"
        f"sources:\n{sources}channels:\n  bench: ['json://127.0.0.1:{sink}/']\ndispatch: {{every: 10s}}\n",
        encoding="utf-8",
    )
    return path


def seed(config_path: Path) -> None:
    """Every feed's validators, as after a first crawl: each poll is a conditional GET."""
    from monitor.config.model import load_config
    from monitor.store.database import Database
    from monitor.store.runs import Validators, save_validators

    config = load_config(config_path, environ={})
    with Database.open(config.database_url) as database, database.transaction() as session:
        for source in config.sources:
            save_validators(session, source.name, {source.url: Validators('"v0"', None)}, _now())
    from monitor.watch.cache import load_rules_cached

    load_rules_cached(list(config.rule_paths))  # as after a first crawl


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def proc_stat(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and RSS bytes of ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), rss


def count_runs(config_path: Path) -> int:
    from sqlalchemy import func, select

    from monitor.config.model import load_config
    from monitor.store.database import Database
    from monitor.store.models import CrawlRun

    config = load_config(config_path, environ={})
    with Database(config.database_url) as database, database.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(CrawlRun)) or 0)


def measure_engine(config_path: Path, window: float, env: dict[str, str]) -> dict[str, float]:
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config_path), "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    peak, cpu, started = 0, 0.0, time.monotonic()
    warm: tuple[float, int] | None = None
    try:
        while time.monotonic() - started < window and process.poll() is None:
            cpu, rss = proc_stat(process.pid)
            peak = max(peak, rss)
            if warm is None and time.monotonic() - started >= WARM_UP:
                warm = (cpu, count_runs(config_path))
            time.sleep(0.25)
        cpu, _ = proc_stat(process.pid)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=60)
    if process.returncode not in (0, -15):
        raise SystemExit(f"monitor run failed ({process.returncode}): {stderr.decode()[-2000:]}")
    polls = count_runs(config_path)
    warm = warm or (0.0, 0)
    return {
        "cpu": cpu,
        "seconds": time.monotonic() - started,
        "rss": peak,
        "polls": polls,
        "steady_cpu": cpu - warm[0],
        "steady_polls": polls - warm[1],
        "steady_seconds": time.monotonic() - started - WARM_UP,
    }


def measure_old(config_path: Path, sample: int) -> float:
    """CPU seconds per poll of ``crawl_source`` (children and this process) on unchanged feeds."""
    from monitor.config.model import load_config
    from monitor.crawl.runner import crawl_source

    config = load_config(config_path, environ={})
    chosen = [source for source in config.sources if not source.name.endswith("-0")][-sample:]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    children, own = usage.ru_utime + usage.ru_stime, time.process_time()
    for source in chosen:
        result = crawl_source(config, source)
        if not result.ok:
            raise SystemExit(f"old path poll failed: {result.error}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    spent = usage.ru_utime + usage.ru_stime - children + time.process_time() - own
    return spent / len(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=FEEDS)
    parser.add_argument("--hosts", type=int, default=HOSTS)
    parser.add_argument("--rules", type=int, default=RULES)
    parser.add_argument("--changing", type=int, default=CHANGING)
    parser.add_argument("--interval", type=int, default=INTERVAL, help="seconds between polls of a feed")
    parser.add_argument("--window", type=float, default=0.0, help="seconds to run (default: interval + 60)")
    parser.add_argument("--sample", type=int, default=10, help="polls of the old path")
    args = parser.parse_args()
    window = args.window or args.interval + 90
    cores = os.cpu_count() or 1
    rng = random.Random(14)
    with tempfile.TemporaryDirectory(prefix="monitor-bench-polling-") as folder:
        work = Path(folder)
        from crawl import write_rules

        write_rules(work, args.rules, 4_000)
        sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
        threading.Thread(target=sink.serve_forever, daemon=True).start()
        ports = free_ports(args.hosts)
        config_path = write_config(work, ports, args.feeds, args.interval, sink.server_address[1])
        seed(config_path)
        start = time.time() + 15  # monitor run's start-up: the items come after it
        changing = rng.sample(range(1, args.feeds), min(args.changing, args.feeds - 1))
        publish = {index: start + rng.uniform(0, 60) for index in changing}
        here, there = multiprocessing.Pipe()
        server = multiprocessing.get_context("spawn").Process(
            target=serve, args=(there, ports, args.feeds, publish), daemon=True
        )
        server.start()
        here.recv()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", "")}
        if not env["XDG_CACHE_HOME"]:
            env.pop("XDG_CACHE_HOME")
        print(
            f"polling: {args.feeds} feeds on {args.hosts} hosts every {args.interval}s, {args.rules} rules, "
            f"{len(changing)} feeds with a new item, SQLite, {cores} cores; window {window:.0f}s"
        )
        new = measure_engine(config_path, window, env)
        per_poll = new["steady_cpu"] / max(1, new["steady_polls"])
        share = new["steady_cpu"] / new["steady_seconds"] / cores
        steady_share = per_poll * args.feeds / args.interval / cores
        latencies = []
        for index, when in publish.items():
            arrived = [at for at, title in Sink.arrivals if f"plan {index}" in title]
            if arrived:
                latencies.append(min(arrived) - when)
        missing = len(publish) - len(latencies)
        p50 = statistics.median(latencies) if latencies else float("nan")
        p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) >= 2 else float("nan")
        print(
            f"  engine: {new['polls']} polls in {new['seconds']:.0f}s, {new['cpu']:.1f}s CPU in all; "
            f"after {WARM_UP:.0f}s of start-up {new['steady_polls']} polls, "
            f"{per_poll * 1000:.1f} ms CPU/poll, "
            f"CPU share {share:.1%} of {cores} cores; peak RSS {new['rss'] / 2**20:.0f} MB"
        )
        print(
            f"  latency new item -> alert: p50 {p50:.0f}s p95 {p95:.0f}s "
            f"({len(latencies)} alerts, {missing} missing)"
        )
        old = measure_old(config_path, args.sample)
        print(
            f"  old path (scrapy crawl child per poll): {old * 1000:.0f} ms CPU/poll over {args.sample} polls"
        )
        server.terminate()
        sink.shutdown()
        scaled = "" if (args.feeds, args.interval) == (FEEDS, INTERVAL) else " (scaled run)"
        print(
            f"bench-polling{scaled}: {args.feeds} feeds every {args.interval}s: "
            f"{per_poll * 1000:.1f} ms CPU/poll (old {old * 1000:.0f} ms), "
            f"CPU {steady_share:.1%} of {cores} cores, latency p50 {p50:.0f}s "
            f"p95 {p95:.0f}s, peak RSS {new['rss'] / 2**20:.0f} MB, ratio {old / per_poll:.0f}"
        )


if __name__ == "__main__":
    main()
