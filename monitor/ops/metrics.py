"""Prometheus metrics and ``/healthz`` for ``monitor run`` and ``monitor dispatch``.

prometheus-client does the exposition. The figures come from the database at scrape time
(a custom collector), not from counters in one process's memory: the crawls run in child
processes or on scrapyd nodes and the alerts are sent by several workers, so only the
database knows the totals, and every process serving metrics reports the same numbers.
What belongs to the serving process itself (is this scheduler the active one?) is an
ordinary gauge beside them.

The server is the standard library's WSGI server, threaded, as prometheus-client's own
``start_wsgi_server`` builds it, with ``/healthz`` in front of the metrics app. Each
connection gets a read timeout (``READ_TIMEOUT``): the server starts a thread per
connection, and a client that sends half a request and then nothing would otherwise keep
its thread forever (a few thousand such connections and the process runs out of threads).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Gauge, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector
from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.exc import SQLAlchemyError

from monitor.config.values import DEFAULT_HOST, parse_address
from monitor.store.database import Database
from monitor.store.models import AlertRow, ArticleRow, CrawlRun, MatchRow
from monitor.store.outbox import ALERT_STATUSES

log = logging.getLogger(__name__)
DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
SUCCESS = ("ok", "partial")  # a partial crawl (some pages failed) still reached the source
READ_TIMEOUT = 10.0  # seconds a connection may take to send its request; a scrape sends it at once


class DatabaseCollector(Collector):
    """Every pipeline figure, read from the database at each scrape."""

    def __init__(self, database: Database, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.database = database
        self.clock = clock

    def collect(self) -> Iterator[Any]:
        """One consistent read; ``monitor_database_up 0`` instead of an error if it fails."""
        up = GaugeMetricFamily("monitor_database_up", "1 if the database answered this scrape.")
        try:
            families = list(self._families())
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self) -> Iterable[Any]:
        with self.database.transaction() as session:
            articles = CounterMetricFamily(
                "monitor_articles_stored", "Articles stored, by source.", labels=["source"]
            )
            for source, count in session.execute(
                select(ArticleRow.source, func.count()).group_by(ArticleRow.source)
            ):
                articles.add_metric([source or ""], count)
            yield articles

            pages = CounterMetricFamily(
                "monitor_pages_fetched", "Pages fetched by crawls, by source.", labels=["source"]
            )
            runs = CounterMetricFamily(
                "monitor_crawl_runs", "Crawl runs, by source and outcome.", labels=["source", "status"]
            )
            totals: dict[str, int] = {}
            for source, status, count, fetched in session.execute(
                select(
                    CrawlRun.source,
                    CrawlRun.status,
                    func.count(),
                    func.coalesce(func.sum(CrawlRun.pages_fetched), 0),
                ).group_by(CrawlRun.source, CrawlRun.status)
            ):
                runs.add_metric([source, status], count)
                totals[source] = totals.get(source, 0) + int(fetched)
            for source, fetched in sorted(totals.items()):
                pages.add_metric([source], fetched)
            yield pages
            yield runs

            matches = CounterMetricFamily("monitor_matches", "Matches recorded, by rule.", labels=["rule"])
            for rule, count in session.execute(select(MatchRow.rule, func.count()).group_by(MatchRow.rule)):
                matches.add_metric([rule], count)
            yield matches

            alerts = GaugeMetricFamily(
                "monitor_alerts", "Alerts in the outbox, by status.", labels=["status"]
            )
            by_status = dict(
                session.execute(select(AlertRow.status, func.count()).group_by(AlertRow.status)).all()
            )
            for status in ALERT_STATUSES:
                alerts.add_metric([status], by_status.get(status, 0))
            yield alerts

            now = self.clock()
            due = or_(
                and_(AlertRow.status == "pending", AlertRow.next_attempt_at <= now),
                and_(AlertRow.status == "sending", AlertRow.lease_until < now),
            )
            queue = GaugeMetricFamily(
                "monitor_queue_depth", "Alerts due now and not yet claimed by a dispatcher (the backlog)."
            )
            queue.add_metric([], session.scalar(select(func.count()).where(due)) or 0)
            yield queue
            oldest = session.scalar(select(func.min(AlertRow.next_attempt_at)).where(due))
            age = GaugeMetricFamily(
                "monitor_queue_oldest_seconds", "How long the oldest due alert has waited."
            )
            age.add_metric([], (now - oldest).total_seconds() if oldest is not None else 0.0)
            yield age

            yield from self._sources(session)
            yield self._durations(session)

    def _sources(self, session: Any) -> Iterable[Any]:
        """Source health from each source's crawl runs: last outcome, last success, failures."""
        up = GaugeMetricFamily(
            "monitor_source_up",
            "1 if the source's last finished crawl reached it (ok or partial).",
            labels=["source"],
        )
        success = GaugeMetricFamily(
            "monitor_source_last_success_timestamp_seconds",
            "When the source's last successful crawl finished (Unix time).",
            labels=["source"],
        )
        finished = CrawlRun.status.not_in(("running", "skipped"))
        last = select(CrawlRun.source, func.max(CrawlRun.id).label("id")).where(finished)
        latest = last.group_by(CrawlRun.source).subquery()
        for source, status in session.execute(
            select(CrawlRun.source, CrawlRun.status).join(latest, CrawlRun.id == latest.c.id)
        ):
            up.add_metric([source], 1 if status in SUCCESS else 0)
        for source, finished in session.execute(
            select(CrawlRun.source, func.max(CrawlRun.finished_at))
            .where(CrawlRun.status.in_(SUCCESS))
            .group_by(CrawlRun.source)
        ):
            if finished is not None:
                success.add_metric([source], _timestamp(finished))
        yield up
        yield success

    def _durations(self, session: Any) -> HistogramMetricFamily:
        """Crawl durations as a histogram, its buckets counted by the database."""
        if session.get_bind().dialect.name == "postgresql":
            seconds: Any = func.extract("epoch", CrawlRun.finished_at - CrawlRun.started_at)
        else:
            seconds = (func.julianday(CrawlRun.finished_at) - func.julianday(CrawlRun.started_at)) * 86400.0
        columns = [func.count(), func.coalesce(func.sum(seconds), 0.0)]
        columns += [
            func.coalesce(func.sum(case((seconds <= bound, 1), else_=0)), 0) for bound in DURATION_BUCKETS
        ]
        histogram = HistogramMetricFamily(
            "monitor_crawl_duration_seconds", "How long finished crawls took, by source.", labels=["source"]
        )
        rows = session.execute(
            select(CrawlRun.source, *columns)
            .where(CrawlRun.finished_at.is_not(None))
            .group_by(CrawlRun.source)
        )
        for source, count, total, *cumulative in rows:
            buckets = [(str(bound), int(n)) for bound, n in zip(DURATION_BUCKETS, cumulative, strict=True)]
            buckets.append(("+Inf", int(count)))
            histogram.add_metric([source], buckets, float(total))
        return histogram


def _timestamp(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


class MetricsServer:
    """``/metrics`` (Prometheus text format) and ``/healthz`` on one port, in a thread."""

    def __init__(
        self, database: Database, host: str = DEFAULT_HOST, port: int = 0, read_timeout: float = READ_TIMEOUT
    ) -> None:
        self.database = database
        self.registry = CollectorRegistry()
        self.registry.register(DatabaseCollector(database))
        self.leader = Gauge(
            "monitor_scheduler_leader",
            "1 if this process is the active scheduler, 0 while it stands by.",
            registry=self.registry,
        )
        self.role = "worker"
        metrics_app = make_wsgi_app(self.registry)

        def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == "/healthz":
                status, body = self.health()
                start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
                return [body.encode("utf-8")]
            return metrics_app(environ, start_response)  # type: ignore[no-any-return]

        handler = type("_TimedHandler", (_QuietHandler,), {"timeout": read_timeout})
        self._server = make_server(host, port, app, _Server, handler_class=handler)
        self.host = host
        self.port = int(self._server.server_port)
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)

    def set_role(self, role: str) -> None:
        """``leader``, ``standby`` or ``worker``: shown by /healthz and the leader gauge."""
        self.role = role
        self.leader.set(1 if role == "leader" else 0)

    def health(self) -> tuple[str, str]:
        """200 while the database answers (a standby is healthy too), 503 when it does not."""
        try:
            with self.database.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return "503 Service Unavailable", f"database unreachable: {type(exc).__name__}\n"
        return "200 OK", f"ok {self.role}\n"

    def start(self) -> MetricsServer:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket and the database pool."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
        self.database.close()


class _QuietHandler(WSGIRequestHandler):
    """No access log, and a connection that stalls past ``timeout`` is closed without a word.

    ``StreamRequestHandler`` sets ``timeout`` on the socket; wsgiref's ``handle`` does not
    catch the ``TimeoutError`` a stalled read then raises, so it is caught here.
    """

    timeout = READ_TIMEOUT

    def handle(self) -> None:
        """Serve one request; a client that stalls loses its connection, not a thread."""
        try:
            super().handle()
        except TimeoutError:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on standard error: scrapes come every few seconds."""


class _Server(ThreadingWSGIServer):
    """prometheus-client's threaded WSGI server, quiet about clients that hang up."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A reset or a timeout of one client is its own business: no traceback on stderr."""
        log.debug("metrics client %s: connection ended with an error", client_address, exc_info=True)


def serve_metrics(database_url: str, address: int | str) -> MetricsServer:
    """Start the metrics server of this process on ``address`` (see ``parse_address``)."""
    host, port = parse_address(address)
    return MetricsServer(Database(database_url), host, port).start()
