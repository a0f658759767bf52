"""The desk's tuning and operations pages: rules (with the backtest), sources, the outbox.

A backtest is ``monitor.watch.backfill`` over a date range, shown first and written
nothing; only the second button ("queue these alerts") records the hits as matches and
queues their alerts, which the running dispatcher (``monitor run``) then sends. Retrying
an alert only puts it back in the queue, as ``monitor alerts retry`` does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from monitor.crawl.ingest import channels_for
from monitor.ops.status import source_statuses
from monitor.redact import redact
from monitor.store import desk as queries
from monitor.store.outbox import ALERT_STATUSES
from monitor.watch.backfill import backfill
from monitor.watch.rules import Rule
from monitor.web import render
from monitor.web.desk import Desk, desk_of
from monitor.web.pages import Action, Page, back, day

router = APIRouter(include_in_schema=False)
BACKTEST_DAYS = 30


def _rule(desk: Desk, name: str) -> Rule:
    rule = desk.rules.current().get(name)
    if rule is None:
        raise HTTPException(404, f"no rule named {name!r}")
    return rule


@router.get("/rules", response_class=HTMLResponse, dependencies=Page)
def rules_page(request: Request) -> Response:
    """Every loaded rule with its query and how many matches it has."""
    desk = desk_of(request)
    with desk.database.transaction() as session:
        counts, _noise = queries.rule_counts(session)
    return desk.page(request, "rules.html", {"rules": list(desk.rules.current()), "counts": counts})


@router.get("/rules/{name}", response_class=HTMLResponse, dependencies=Page)
def rule_page(request: Request, name: str) -> Response:
    """A rule: its query, hits per day, recent hits with their passages, noise share, backtest form."""
    desk = desk_of(request)
    return _rule_page(request, desk, _rule(desk, name), None)


def _rule_page(request: Request, desk: Desk, rule: Rule, backtest: dict[str, object] | None) -> Response:
    now = datetime.now(UTC)
    with desk.database.transaction() as session:
        figures = queries.rule_figures(session, rule.name, now)
        recent = queries.recent_matches(session, rule.name)
    context = {
        "rule": rule,
        "figures": figures,
        "chart": render.bar_chart(figures.per_day),
        "recent": recent,
        "backtest": backtest,
        "default_since": (now - timedelta(days=BACKTEST_DAYS)).strftime("%Y-%m-%d"),
    }
    return desk.page(request, "rule.html", context)


@router.post("/rules/{name}/backtest", response_class=HTMLResponse, dependencies=Action)
def backtest(
    request: Request, name: str, since: Annotated[str, Form()] = "", until: Annotated[str, Form()] = ""
) -> Response:
    """Run the rule over the stored articles of the range and show the hits; nothing is written."""
    desk = desk_of(request)
    rule = _rule(desk, name)
    start = day(since) or datetime.now(UTC) - timedelta(days=BACKTEST_DAYS)
    report = backfill(desk.database, desk.rules.current(), rule, start, until=day(until, end=True))
    per_day = sorted((str(when), count) for when, count in report.per_day.items())
    result = {
        "since": since,
        "until": until,
        "scanned": report.scanned,
        "hits": report.hits,
        "per_day": per_day,
        "chart": render.bar_chart(per_day) if per_day else "",
    }
    return _rule_page(request, desk, rule, result)


@router.post("/rules/{name}/backtest/send", dependencies=Action)
def backtest_send(
    request: Request, name: str, since: Annotated[str, Form()] = "", until: Annotated[str, Form()] = ""
) -> Response:
    """Record the backtest's hits as matches and queue their alerts (once per story and channel)."""
    desk = desk_of(request)
    rule = _rule(desk, name)
    start = day(since) or datetime.now(UTC) - timedelta(days=BACKTEST_DAYS)
    channels = channels_for(rule.channels, desk.config)
    backfill(
        desk.database, desk.rules.current(), rule, start, notify_channels=channels, until=day(until, end=True)
    )
    return back("/outbox?status=pending")


@router.get("/sources", response_class=HTMLResponse, dependencies=Page)
def sources_page(request: Request) -> Response:
    """``monitor status`` as a table, with each source's failures and extraction figures of the week."""
    desk = desk_of(request)
    now = datetime.now(UTC)
    with desk.database.transaction() as session:
        rows = source_statuses(session, desk.config, now)
        quality = queries.source_quality(session, now - timedelta(days=7))
    errors = {row.name: redact(row.last_error) if row.last_error else "" for row in rows}
    return desk.page(request, "sources.html", {"rows": rows, "quality": quality, "errors": errors})


@router.get("/outbox", response_class=HTMLResponse, dependencies=Page)
def outbox_page(request: Request, status: str | None = None) -> Response:
    """The alerts by state, newest first; a failed one has a retry button."""
    desk = desk_of(request)
    if status and status not in ALERT_STATUSES:
        raise HTTPException(400, f"status must be one of {', '.join(ALERT_STATUSES)}")
    with desk.database.transaction() as session:
        alerts = queries.alerts_by_state(session, status)
        total = queries.counts_by_status(session)
        titles = queries.titles(session, [alert.article_id for alert in alerts])
    errors = {alert.id: redact(alert.last_error) if alert.last_error else "" for alert in alerts}
    context = {"alerts": alerts, "status": status, "statuses": ALERT_STATUSES, "total": total}
    return desk.page(request, "outbox.html", {**context, "titles": titles, "errors": errors})


@router.post("/outbox/{alert_id}/retry", dependencies=Action)
def retry(request: Request, alert_id: int, next: Annotated[str, Form()] = "/outbox") -> Response:
    """Put one failed alert back in the queue for the dispatcher."""
    with desk_of(request).database.transaction() as session:
        if not queries.retry_alert(session, alert_id, datetime.now(UTC)):
            raise HTTPException(409, "only a failed alert can be retried")
    return back(next, "/outbox")
