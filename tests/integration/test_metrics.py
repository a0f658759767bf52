"""Prometheus metrics and /healthz, scraped over HTTP on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from scale_seed import seed_alerts

from monitor.config.values import parse_address
from monitor.ops.metrics import MetricsServer
from monitor.store.database import Database
from monitor.store.runs import finish_run, start_run

ROOT = Path(__file__).parents[2]


def _scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode("utf-8")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def test_metrics_read_the_database(database: Database) -> None:
    seed_alerts(database, 3)
    now = datetime.now(UTC)
    with database.transaction() as session:
        ok = start_run(session, "scale", now - timedelta(seconds=12))
        finish_run(
            session, ok, now - timedelta(seconds=2), pages=7, stored=3, failed=0, error=None, status="ok"
        )
        bad = start_run(session, "scale", now - timedelta(seconds=1))
        error = "6 download errors and no page fetched"
        finish_run(session, bad, now, pages=0, stored=0, failed=6, error=error, status="failed")
    server = MetricsServer(Database(database.url)).start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        samples = _scrape(base + "/metrics")
        status, body = _get(base + "/healthz")
    finally:
        server.stop()
    assert samples[("monitor_database_up", ())] == 1
    assert samples[("monitor_articles_stored_total", (("source", "scale"),))] == 3
    assert samples[("monitor_matches_total", (("rule", "scale"),))] == 3
    assert samples[("monitor_alerts", (("status", "pending"),))] == 3
    assert samples[("monitor_alerts", (("status", "sent"),))] == 0
    assert samples[("monitor_queue_depth", ())] == 3
    assert samples[("monitor_pages_fetched_total", (("source", "scale"),))] == 7
    assert samples[("monitor_crawl_runs_total", (("source", "scale"), ("status", "failed")))] == 1
    assert samples[("monitor_source_up", (("source", "scale"),))] == 0  # its last crawl failed
    assert samples[
        ("monitor_source_last_success_timestamp_seconds", (("source", "scale"),))
    ] == pytest.approx((now - timedelta(seconds=2)).timestamp(), abs=1)
    assert samples[("monitor_crawl_duration_seconds_count", (("source", "scale"),))] == 2
    assert samples[("monitor_crawl_duration_seconds_sum", (("source", "scale"),))] == pytest.approx(
        11, abs=0.1
    )
    assert samples[("monitor_crawl_duration_seconds_bucket", (("le", "5.0"), ("source", "scale")))] == 1
    assert samples[("monitor_crawl_duration_seconds_bucket", (("le", "15.0"), ("source", "scale")))] == 2
    assert (status, body) == (200, "ok worker\n")


def test_healthz_says_when_the_database_is_gone(tmp_path: Path) -> None:
    server = MetricsServer(Database("postgresql+psycopg://nobody@127.0.0.1:1/none")).start()
    try:
        status, body = _get(f"http://127.0.0.1:{server.port}/healthz")
        samples = _scrape(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        server.stop()
    assert status == 503
    assert body.startswith("database unreachable")
    assert samples[("monitor_database_up", ())] == 0


def test_addresses() -> None:
    assert parse_address(9464) == ("127.0.0.1", 9464)
    assert parse_address("0.0.0.0:9464") == ("0.0.0.0", 9464)
    with pytest.raises(ValueError, match=r"^must be a port number or host:port, got 'http'$"):
        parse_address("http")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
@pytest.mark.postgres
def test_run_and_dispatch_serve_metrics(tmp_path: Path, postgres_url: str) -> None:
    """A leader, a standby and a dispatcher worker: each serves /metrics and /healthz."""
    (tmp_path / "rules").mkdir()
    config = tmp_path / "monitor.yaml"
    ports = [_free_port() for _ in range(3)]
    config.write_text(
        f"database: '{postgres_url}'\nrules: [rules]\nmetrics_port: {ports[0]}\n"
        "sources:\n  - {name: idle, kind: feed, url: 'http://127.0.0.1:9/feed', schedule: {every: 1h}}\n",
        encoding="utf-8",
    )
    database = Database.open(postgres_url)  # the schema first: processes starting together would race
    env = {key: value for key, value in os.environ.items() if not key.startswith("MONITOR_")}
    monitor = [sys.executable, "-m", "monitor", "--config", str(config)]
    leader = subprocess.Popen([*monitor, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    processes = [leader]
    try:
        _wait_healthy(ports[0], "ok leader")
        seed_alerts(database, 2)
        processes.append(
            subprocess.Popen(
                [*monitor, "dispatch", "--every", "60", "--metrics-port", str(ports[1])],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        )
        _wait_healthy(ports[1], "ok worker")
        standby_config = tmp_path / "standby.yaml"
        standby_config.write_text(
            config.read_text(encoding="utf-8").replace(str(ports[0]), str(ports[2])), encoding="utf-8"
        )
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "monitor", "--config", str(standby_config), "run"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        )
        _wait_healthy(ports[2], "ok standby")
        scrapes = [_scrape(f"http://127.0.0.1:{port}/metrics") for port in ports]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.communicate(timeout=60)
        database.close()
    assert [scrape[("monitor_scheduler_leader", ())] for scrape in scrapes] == [1, 0, 0]
    # every process reads the same database: they agree (both alerts are in the outbox)
    totals = {sum(v for (name, _), v in scrape.items() if name == "monitor_alerts") for scrape in scrapes}
    assert totals == {2}


def _wait_healthy(port: int, expected: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = _get(f"http://127.0.0.1:{port}/healthz")
            if last == (200, expected + "\n"):
                return
        except OSError as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"port {port}: /healthz never said {expected!r} (last: {last!r})")


def _request_threads() -> int:
    """Threads the metrics server started for connections (socketserver names them so)."""
    return sum("process_request_thread" in thread.name for thread in threading.enumerate())


@pytest.mark.timeout(60)
def test_half_sent_requests_do_not_keep_threads(tmp_path: Path) -> None:
    server = MetricsServer(Database.open(f"sqlite:///{tmp_path / 'm.db'}"), read_timeout=5.0).start()
    clients: list[socket.socket] = []
    try:
        before = _request_threads()
        for _ in range(10):
            client = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            client.sendall(b"GET /heal")  # half a request line, then nothing
            clients.append(client)
        deadline = time.monotonic() + 10
        while _request_threads() < before + 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _request_threads() == before + 10  # one thread per stalled connection
        deadline = time.monotonic() + 20
        while _request_threads() > before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _request_threads() == before  # each timed out and gave its thread back
        assert all(client.recv(1) == b"" for client in clients)  # the server closed them
        assert _get(f"http://127.0.0.1:{server.port}/healthz") == (200, "ok worker\n")
    finally:
        for client in clients:
            client.close()
        server.stop()
