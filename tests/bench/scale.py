"""Scale benchmark: alerts dispatched per second by 1, 2 and 4 ``monitor dispatch`` workers.

Run with ``make bench-scale`` (or ``.venv/bin/python tests/bench/scale.py``). Needs the
PostgreSQL server (``MONITOR_TEST_POSTGRES_URL``, default 127.0.0.1:5432 database
``test``); each round runs in a fresh schema that is dropped afterwards. For each worker
count it starts that many ``monitor dispatch`` processes, commits the pending alerts in one
transaction and times from that commit until the receiver holds the last alert (worker
start-up is not counted), then checks that every alert arrived exactly once.

Receivers are real and local: the SMTP sink (aiosmtpd, through apprise ``mailto://``),
and an HTTP receiver (apprise ``json://``), which shows what the outbox and PostgreSQL
sustain once the mail plugin's own per-message cost is out of the way. The machine has
two cores, shared by the workers, the receivers and PostgreSQL. The last line is one
summary of every figure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from scale_seed import JsonSink, seed_alerts, subject  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from monitor.demo.smtpsink import SmtpSink  # noqa: E402
from monitor.store.database import Database  # noqa: E402

POSTGRES_URL = os.environ.get(
    "MONITOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
WORKERS = (1, 2, 4)


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A database URL whose search_path is a new schema, dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def one_round(workers: int, alerts: int, target: str, received: Callable[[], list[str]], work: Path) -> float:
    """Start ``workers`` dispatchers, then seed ``alerts`` at once; alerts per second.

    The clock runs from the commit that makes the alerts due until the receiver holds the
    last one, so the workers' start-up (imports, rule loading) is not counted.
    """
    with fresh_schema() as url:
        database = Database.open(url)
        config = work / f"monitor-{uuid.uuid4().hex[:6]}.yaml"
        config.write_text(
            f"database: '{url}'\nrules: [{work / 'rules'}]\nchannels:\n  alerts: ['{target}']\n",
            encoding="utf-8",
        )
        env = {key: value for key, value in os.environ.items() if not key.startswith("MONITOR_")}
        command = [sys.executable, "-m", "monitor", "--config", str(config), "dispatch", "--every", "0.1"]
        processes = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(workers)
        ]
        try:
            for process in processes:
                assert process.stdout is not None
                if not process.stdout.readline().startswith("monitor dispatch:"):
                    raise SystemExit(f"a dispatcher did not start: {process.communicate()[1]}")
            before = len(received())
            started = time.perf_counter()
            seed_alerts(database, alerts)
            deadline = started + 1800
            while len(received()) - before < alerts and time.perf_counter() < deadline:
                time.sleep(0.01)
            seconds = time.perf_counter() - started
            time.sleep(0.5)  # a duplicate, if any, would arrive now
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.communicate(timeout=60)
            database.close()
    got = Counter(received()[before:])
    expected = {subject(number) for number in range(1, alerts + 1)}
    if set(got) != expected or max(got.values()) != 1:
        raise SystemExit(f"not exactly once: {len(got)} distinct of {alerts}, max {max(got.values())}")
    return alerts / seconds


def main() -> None:
    """Run every round and print the figures, then one summary line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smtp-alerts", type=int, default=1000, help="alerts per SMTP round")
    parser.add_argument("--http-alerts", type=int, default=4000, help="alerts per json:// round")
    options = parser.parse_args()
    figures: dict[str, dict[int, float]] = {"smtp": {}, "http": {}}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "rules").mkdir()
        with SmtpSink() as smtp:
            for workers in WORKERS:
                rate = one_round(
                    workers,
                    options.smtp_alerts,
                    smtp.mailto(),
                    lambda: [str(message["Subject"]) for message in smtp.messages],
                    work,
                )
                figures["smtp"][workers] = rate
                print(f"SMTP sink (mailto://), {workers} dispatcher(s): {rate:7.1f} alerts/s", flush=True)
        with JsonSink() as http:
            for workers in WORKERS:
                rate = one_round(workers, options.http_alerts, http.url(), lambda: list(http.titles), work)
                figures["http"][workers] = rate
                print(f"HTTP receiver (json://), {workers} dispatcher(s): {rate:7.1f} alerts/s", flush=True)
    smtp_line = ", ".join(f"{n}w {figures['smtp'][n]:.0f}/s" for n in WORKERS)
    http_line = ", ".join(f"{n}w {figures['http'][n]:.0f}/s" for n in WORKERS)
    print(
        f"scale: PostgreSQL, {os.cpu_count()} cores; alerts dispatched per second, every alert exactly once: "
        f"SMTP ({options.smtp_alerts} alerts) {smtp_line}; json:// ({options.http_alerts} alerts) {http_line}"
    )


if __name__ == "__main__":
    main()
