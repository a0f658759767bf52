"""Chat end to end: a real Matrix homeserver (Synapse, from PyPI) on 127.0.0.1.

The test writes a homeserver config in a temporary folder (SQLite database, one plain-HTTP
client listener on 127.0.0.1, no federation listener and an empty federation whitelist,
no key servers, rate limits raised), generates its signing key, starts Synapse, registers
a reader and a bot account with the registration shared secret (the admin API's HMAC
handshake), and lets the reader create a public room with an alias. The alert then goes
out through apprise's ``matrix://bot:password@127.0.0.1:port/#alias`` URL (apprise logs
in, joins the room by its alias and posts), and the reader reads it back from the room.
``matrixs://`` is the same path over TLS, which this loopback server does not offer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.article import Article
from monitor.notify import Dispatcher
from monitor.store.database import Database, save_article, save_match

pytestmark = pytest.mark.slow
SHARED_SECRET = "monitor-test-shared-secret"
REQUIRE_SERVICES = os.environ.get("MONITOR_REQUIRE_SERVICES") == "1"
NOW = datetime(2010, 4, 6, 18, 0, tzinfo=UTC)
STORY = (
    "German automaker Daimler AG and French car manufacturer Renault have reportedly agreed on a new "
    "business strategy that will see both parties create a global small-car alliance, sharing "
    "development costs and technology."
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def homeserver_config(folder: Path, port: int) -> str:
    return f"""\
server_name: localhost
pid_file: {folder}/homeserver.pid
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: {folder}/homeserver.db
media_store_path: {folder}/media
signing_key_path: {folder}/signing.key
registration_shared_secret: {SHARED_SECRET}
report_stats: false
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
enable_metrics: false
presence:
  enabled: false
url_preview_enabled: false
rc_message: {{per_second: 1000, burst_count: 1000}}
rc_registration: {{per_second: 1000, burst_count: 1000}}
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
  failed_attempts: {{per_second: 1000, burst_count: 1000}}
rc_joins:
  local: {{per_second: 1000, burst_count: 1000}}
"""


class Homeserver:
    """A running Synapse and the few client calls the test needs."""

    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def register(self, user: str, password: str) -> str:
        """Register with the shared secret (Synapse's admin API); returns an access token."""
        nonce = self.call("GET", "/_synapse/admin/v1/register")["nonce"]
        mac = hmac.new(SHARED_SECRET.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), user.encode(), password.encode(), b"notadmin"]))
        body = {
            "nonce": nonce,
            "username": user,
            "password": password,
            "admin": False,
            "mac": mac.hexdigest(),
        }
        return str(self.call("POST", "/_synapse/admin/v1/register", body)["access_token"])

    def messages(self, room_id: str, token: str) -> list[dict[str, Any]]:
        path = f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id)}/messages?dir=b&limit=50"
        chunk = self.call("GET", path, token=token)["chunk"]
        return [event for event in chunk if event["type"] == "m.room.message"]


@pytest.fixture(scope="module")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Homeserver]:
    """Synapse on 127.0.0.1 with a SQLite database, started and stopped by this test module."""
    try:
        import synapse  # noqa: F401
    except ImportError:
        message = "matrix-synapse is not installed (pip install -e '.[test]')"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("synapse")
    port = _free_port()
    config = folder / "homeserver.yaml"
    config.write_text(homeserver_config(folder, port), encoding="utf-8")
    command = [sys.executable, "-m", "synapse.app.homeserver", "-c", str(config)]
    subprocess.run([*command, "--generate-keys"], check=True, capture_output=True, timeout=120)
    log = (folder / "synapse.log").open("wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    homeserver = Homeserver(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                homeserver.call("GET", "/_matrix/client/versions")
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    tail = (folder / "synapse.log").read_text(errors="replace")[-3000:]
                    pytest.fail(f"Synapse did not start:\n{tail}")
                time.sleep(0.25)
        yield homeserver
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        log.close()


def test_an_alert_arrives_in_a_matrix_room_once(synapse: Homeserver, tmp_path: Path) -> None:
    reader = synapse.register("reader", "reader-password")
    synapse.register("monitor-bot", "bot-password-4711")
    room = synapse.call(
        "POST",
        "/_matrix/client/v3/createRoom",
        {"room_alias_name": "alerts", "preset": "public_chat"},
        reader,
    )["room_id"]
    port = urllib.parse.urlsplit(synapse.base).port

    database = Database.open(f"sqlite:///{tmp_path / 'monitor.db'}")
    with database.transaction() as session:
        url = "https://www.autoguide.example/2010/04/daimler-renault-team-up-for-small-car-alliance.html"
        article = Article(
            url=url,
            canonical_url=url,
            title="Report: Daimler, Renault Team Up for Small Car Alliance",
            body=STORY,
            authors=("Colum Wood",),
            published_at=datetime(2010, 4, 6, 17, 30, tzinfo=UTC),
            site_name="AutoGuide.com",
        )
        row = save_article(session, article, NOW)
        assert row is not None
        snippet = "… both parties create a global small-car **alliance** … **Daimler** … **Renault** …"
        save_match(session, row, "daimler-renault-alliance", ["Daimler", "Renault"], snippet, ["chat"], NOW)
    channels = {"chat": (f"matrix://monitor-bot:bot-password-4711@127.0.0.1:{port}/#alerts",)}
    dispatcher = Dispatcher(database, channels)
    assert dispatcher.dispatch_due().sent == 1
    assert dispatcher.dispatch_due().sent == 0
    database.close()

    [event] = synapse.messages(room, reader)
    assert event["sender"] == "@monitor-bot:localhost"
    content = event["content"]
    assert (
        "[daimler-renault-alliance] Report: Daimler, Renault Team Up for Small Car Alliance"
        in content["body"]
    )
    assert url in content["body"]
    assert "AutoGuide.com" in content["body"]
    assert content["format"] == "org.matrix.custom.html"
    assert "<strong>Daimler</strong>" in content["formatted_body"]  # the highlighted passage
    assert "Outlet: AutoGuide.com<br />" in content["formatted_body"]  # one fact per line
