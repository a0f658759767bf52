"""The desk over real HTTP (uvicorn on 127.0.0.1, httpx): pages, CSRF, login and tokens, feeds, API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import httpx
import pytest
from sqlalchemy import select, update
from webdesk import DeskServer, add_copy, seed_desk, write_config

from monitor.config.model import Config
from monitor.errors import ConfigError
from monitor.store.database import Database
from monitor.store.desk import add_token
from monitor.store.models import AlertRow, MatchRow, StoryMark
from monitor.web.app import create_app
from monitor.web.desk import WebSettings
from monitor.web.security import hash_password

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[Config, Database]]:
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    config = write_config(tmp_path, url)
    database = Database.open(url)
    seed_desk(database, config)
    try:
        yield config, database
    finally:
        database.close()


@pytest.fixture
def served(desk: tuple[Config, Database]) -> Iterator[tuple[httpx.Client, Database, Config]]:
    config, database = desk
    with DeskServer(create_app(config, database)) as server, httpx.Client(base_url=server.url) as client:
        yield client, database, config


def csrf_of(client: httpx.Client, path: str = "/") -> str:
    page = client.get(path)
    assert page.status_code == 200
    found = CSRF.search(page.text)
    assert found
    return found.group(1)


def test_every_page_renders(served: tuple[httpx.Client, Database, Config]) -> None:
    client, database, _ = served
    with database.transaction() as session:
        article = session.scalar(select(MatchRow.article_id).where(MatchRow.rule == "alliance"))
    inbox = client.get("/")
    assert "Daimler, Renault Team Up for Small Car Alliance" in inbox.text
    assert "European New Car Registrations" not in inbox.text  # matched no rule
    assert 'name="viewport"' in inbox.text
    page = client.get(f"/articles/{article}")
    assert "<mark>Dieter Zetsche</mark>" in page.text  # the body with the hits marked
    assert "alliance  (" in page.text  # explain() output: the rule and its file:line
    rule = client.get("/rules/alliance")
    assert "<svg" in rule.text
    assert '<span id="match-count">1</span>' in rule.text
    assert "<mark>" in rule.text
    for path in ("/rules", "/sources", "/outbox", "/outbox?status=failed", "/search?q=battery", "/api/docs"):
        assert client.get(path).status_code == 200, path
    assert "Fluence" in client.get("/search?q=battery").text
    sources = client.get("/sources").text
    assert "<th>No date</th>" in sources  # extraction quality, as `monitor status` shows it
    assert "query:1:" in client.get("/search?q=%28battery").text
    assert client.get("/rules/nope").status_code == 404
    assert client.get("/stories/999").status_code == 404


def test_actions_need_the_csrf_value(served: tuple[httpx.Client, Database, Config]) -> None:
    client, database, _ = served
    with database.transaction() as session:
        story = session.scalars(select(MatchRow.article_id)).first()
    refused = client.post(f"/stories/{story}/mark", data={"action": "mute"})
    assert refused.status_code == 403
    token = csrf_of(client)
    stranger = httpx.post(
        f"{client.base_url}/stories/{story}/mark", data={"action": "mute", "csrf_token": token}
    )
    assert stranger.status_code == 403  # the value without the browser's cookie proves nothing
    done = client.post(
        f"/stories/{story}/mark", data={"action": "mute", "csrf_token": token, "next": "//evil.example/"}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/"  # never a redirect to another host
    with database.transaction() as session:
        assert session.get_one(StoryMark, story).muted_at is not None


def test_a_loopback_desk_refuses_other_host_names(served: tuple[httpx.Client, Database, Config]) -> None:
    client, _, _ = served
    assert client.get("/", headers={"Host": "rebound.example"}).status_code == 400


def test_feeds_keep_one_entry_per_story_across_crawls(served: tuple[httpx.Client, Database, Config]) -> None:
    client, database, config = served
    first = feedparser.parse(client.get("/feeds/alliance.atom").content)
    assert first.bozo == 0
    assert len(first.entries) == 1
    entry = first.entries[0]
    assert entry.id.startswith("tag:monitor,2026:rule/alliance/story/")
    assert "<b>" in entry.content[0].value
    add_copy(database, config)  # the second crawl: a syndicated copy joins the story
    second = feedparser.parse(client.get("/feeds/alliance.atom").content)
    assert [e.id for e in second.entries] == [entry.id]
    assert second.entries[0].updated_parsed >= entry.updated_parsed
    assert "Also reported by" in second.entries[0].content[0].value
    everything = feedparser.parse(client.get("/feeds/all.atom").content)
    assert len(everything.entries) == 2
    assert len({e.id for e in everything.entries}) == 2
    assert client.get("/feeds/nope.atom").status_code == 404


def test_api_lists_and_acts(served: tuple[httpx.Client, Database, Config]) -> None:
    client, database, _ = served
    schema = client.get("/api/openapi.json").json()
    for path in ("/api/stories", "/api/matches", "/api/rules", "/api/sources", "/api/alerts", "/api/search"):
        assert path in schema["paths"], path
    stories = client.get("/api/stories").json()
    assert {s["title"] for s in stories} >= {"Daimler, Renault Team Up for Small Car Alliance"}
    match = client.get("/api/matches", params={"rule": "electric"}).json()[0]
    token = csrf_of(client)
    marked = client.post(
        f"/api/matches/{match['id']}/feedback", json={"irrelevant": True}, headers={"X-CSRF-Token": token}
    )
    assert marked.status_code == 204
    rules = {r["name"]: r for r in client.get("/api/rules").json()}
    assert rules["electric"]["irrelevant"] == 1
    with database.transaction() as session:
        alert = session.scalars(select(AlertRow.id)).first()
        session.execute(update(AlertRow).where(AlertRow.id == alert).values(status="failed", last_error="x"))
    assert client.post(f"/api/alerts/{alert}/retry", headers={"X-CSRF-Token": token}).status_code == 204
    assert client.post(f"/api/alerts/{alert}/retry", headers={"X-CSRF-Token": token}).status_code == 409
    assert client.get("/api/search", params={"q": "NOT x"}).status_code == 400
    listed = client.get("/api/sources").json()
    assert listed, "the desk's config has sources"
    for row in listed:  # extraction quality per source, as `monitor status` shows it
        assert set(row["missing"]) == {"body", "date", "author"}
        assert row["extraction"] == "ok"
        assert row["pages_judged"] >= 0


def test_the_outbox_retries_and_never_shows_a_secret(served: tuple[httpx.Client, Database, Config]) -> None:
    client, database, _ = served
    with database.transaction() as session:
        alert = session.scalars(select(AlertRow.id)).first()
        session.execute(
            update(AlertRow)
            .where(AlertRow.id == alert)
            .values(status="failed", last_error="mailto://monitor:hunter2secret@smtp.example failed: 535")
        )
    page = client.get("/outbox?status=failed")
    assert "hunter2secret" not in page.text
    assert f'id="retry-{alert}"' in page.text
    retried = client.post(f"/outbox/{alert}/retry", data={"csrf_token": csrf_of(client), "next": "/outbox"})
    assert retried.status_code == 303
    with database.transaction() as session:
        assert session.get_one(AlertRow, alert).status == "pending"


def test_beyond_loopback_a_login_or_token_is_required(desk: tuple[Config, Database]) -> None:
    config, database = desk
    with pytest.raises(ConfigError, match="without a login"):
        create_app(config, database, WebSettings(host="0.0.0.0"))
    settings = WebSettings(host="0.0.0.0", password_hash=hash_password("correct horse"))
    with database.transaction() as session:
        add_token(session, "ana", "tok-" + "x" * 40, datetime.now(UTC))
    # served on loopback for the test, with the policy of a desk listening on every address
    with (
        DeskServer(create_app(config, database, settings)) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        assert client.get("/").status_code == 303
        assert client.get("/api/stories").status_code == 401
        assert client.get("/feeds/all.atom").status_code == 401
        token = {"Authorization": "Bearer tok-" + "x" * 40}
        assert client.get("/api/stories", headers=token).status_code == 200
        feed = client.get("/feeds/all.atom", params={"token": "tok-" + "x" * 40})
        assert feed.status_code == 200
        assert b"tok-x" not in feed.content  # the self link has no token
        csrf = csrf_of(client, "/login")
        wrong = client.post("/login", data={"password": "wrong", "csrf_token": csrf})
        assert wrong.status_code == 401
        right = client.post(
            "/login", data={"password": "correct horse", "csrf_token": csrf, "next": "/rules"}
        )
        assert right.status_code == 303
        assert client.get("/rules").status_code == 200
        assert "correct horse" not in client.get("/").text
