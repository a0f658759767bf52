"""Hand crawls to scrapyd nodes through their HTTP API instead of running child processes.

scrapyd does the work: it keeps a queue per node, runs each crawl in its own process with
the project egg deployed by ``scrapyd-deploy`` (``scrapy.cfg`` ``[deploy]``), and reports
jobs through ``listjobs.json``. This module only picks a node and calls ``schedule.json``
with the same spider arguments and per-crawl settings as a child process gets
(``monitor.crawl.settings.crawl_settings``). A node reads the same ``monitor.yaml`` (path in the
``MONITOR_CONFIG`` setting: deploy it at the same path on every node) and writes to the
shared database, so the scheduler does not wait for the crawl: it learns the outcome from
the crawl-run record, like any other process.

Each job id starts with the source name, so a source whose crawl is still pending or
running on any node is not queued again; the crawl lock (``monitor.crawl.extensions``) guards
the rest. Node URLs may carry ``user:password@`` for scrapyd's basic auth (put them in
the environment: ``${SCRAPYD_NODE_1}``); they never appear in messages.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.config.model import Config, Source
from monitor.crawl.settings import crawl_settings
from monitor.errors import MonitorError

log = logging.getLogger(__name__)
PROJECT = "monitor"
SPIDER = "news"
TIMEOUT = 10.0


class ScrapydError(MonitorError):
    """Raised by ``monitor.crawl.scrapyd`` when no scrapyd node accepted a crawl."""


@dataclass(frozen=True, slots=True)
class Handoff:
    """Where a crawl went: the node (without credentials) and scrapyd's job id.

    ``job`` is ``None`` when the source already had a crawl pending or running on a node.
    """

    source: str
    node: str
    job: str | None


@dataclass(frozen=True, slots=True)
class Node:
    """One scrapyd server: its base URL and the Authorization header, if it has a login."""

    url: str
    auth: str | None

    @classmethod
    def parse(cls, url: str) -> Node:
        """Split ``http://user:pass@host:6800`` into a clean URL and a basic-auth header."""
        parts = urllib.parse.urlsplit(url)
        auth = None
        if parts.username is not None:
            pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            auth = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
        netloc = parts.hostname or ""
        if parts.port is not None:
            netloc += f":{parts.port}"
        return cls(urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", "")), auth)

    def call(
        self, endpoint: str, query: dict[str, str] | None = None, form: list[tuple[str, str]] | None = None
    ) -> Any:
        """GET (or POST ``form`` to) one JSON endpoint; ``ScrapydError`` unless status is ok."""
        url = f"{self.url}/{endpoint}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = urllib.parse.urlencode(form).encode("ascii") if form is not None else None
        request = urllib.request.Request(url, data=data)
        if self.auth is not None:
            request.add_header("Authorization", self.auth)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                answer = json.loads(response.read().decode("utf-8"))
        except (OSError, ValueError) as exc:
            raise ScrapydError(f"scrapyd {self.url}: {endpoint}: {exc}") from None
        if answer.get("status") != "ok":
            raise ScrapydError(f"scrapyd {self.url}: {endpoint}: {answer.get('message', answer)}")
        return answer


def _busy_with(node: Node, source: str) -> bool:
    jobs = node.call("listjobs.json", {"project": PROJECT})
    active = [job for state in ("pending", "running") for job in jobs.get(state, [])]
    return any(str(job.get("id", "")).startswith(f"{source}--") for job in active)


def _load(node: Node) -> int:
    status = node.call("daemonstatus.json")
    return int(status.get("pending", 0)) + int(status.get("running", 0))


def due(config: Config, source: Source) -> bool:
    """Whether adaptive polling and ``Retry-After`` let this source be crawled now."""
    from monitor.crawl.health import is_due
    from monitor.store.database import Database
    from monitor.store.runs import health_of

    with Database.open(config.database_url) as database, database.transaction() as session:
        return is_due(health_of(session, source.name), datetime.now(UTC))


def hand_to_scrapyd(config: Config, source: Source, now: datetime | None = None) -> Handoff:
    """Queue a crawl of ``source`` on the least busy reachable node of ``config.scrapyd``.

    Unreachable nodes are skipped (and logged); ``ScrapydError`` when none takes the job.
    """
    if config.path is None:
        raise ValueError("scrapyd crawls need a Config loaded from a file (the node reads it again)")
    loads: list[tuple[int, int, Node]] = []
    for index, url in enumerate(config.scrapyd):
        node = Node.parse(url)
        try:
            if _busy_with(node, source.name):
                return Handoff(source.name, node.url, None)
            loads.append((_load(node), index, node))
        except ScrapydError as exc:
            log.warning("%s", exc)
    if not loads:
        raise ScrapydError(f"no scrapyd node could take the crawl of {source.name}")
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%f")
    job = f"{source.name}--{stamp}"
    form = [("project", PROJECT), ("spider", SPIDER), ("jobid", job), ("source", source.name)]
    settings = {**crawl_settings(config, source), "LOG_LEVEL": "INFO"}
    form += [("setting", f"{name}={value}") for name, value in settings.items()]
    errors = []
    for _load_now, _index, node in sorted(loads, key=lambda item: item[:2]):
        try:
            answer = node.call("schedule.json", form=form)
        except ScrapydError as exc:
            errors.append(str(exc))
            continue
        return Handoff(source.name, node.url, str(answer.get("jobid", job)))
    raise ScrapydError("; ".join(errors))
