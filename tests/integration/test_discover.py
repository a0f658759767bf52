"""``monitor sources discover``: feeds and sitemaps of the fault site, as YAML that loads as sources.

And its fetcher's address guard: one lookup per hop, the connection pinned to the address
that was checked (a rebinding name cannot reach a loopback service), names kept for Host
and TLS. Names under ``.test`` resolve through an injected resolver; everything listens on
127.0.0.1.
"""

from __future__ import annotations

import socket
import ssl
import threading
import urllib.error
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from faultserver import FaultServer

from monitor.cli import main
from monitor.config.model import load_config
from monitor.crawl.discover import DiscoverError, GuardedFetcher, discover, to_yaml

AGENT = "monitor-test/0.1 (+https://example.org/bot)"


@pytest.fixture(scope="module")
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def test_discover_finds_the_feed_link_and_the_robots_sitemap(site: FaultServer) -> None:
    found = discover(f"{site.url}/", GuardedFetcher(AGENT, allow_private=True))
    by_url = {item.url.removeprefix(site.url): item for item in found}
    assert set(by_url) == {"/feed.xml", "/sitemap-index.xml"}  # the XML bomb feed is not offered
    feed, index = by_url["/feed.xml"], by_url["/sitemap-index.xml"]
    assert (feed.kind, feed.via, feed.title) == ("feed", "link rel=alternate", "Fault News")
    assert feed.entries == len(site.feed_paths)
    assert (index.kind, index.what, index.via, index.entries) == ("sitemap", "sitemap index", "robots.txt", 2)
    agents = {hit.user_agent for hit in site.requests}
    assert agents == {AGENT}


def test_the_yaml_is_ready_to_paste(site: FaultServer, tmp_path: Path) -> None:
    found = discover(f"{site.url}/", GuardedFetcher(AGENT, allow_private=True))
    text = to_yaml(f"{site.url}/", found, allow_private=True)
    config = tmp_path / "monitor.yaml"
    config.write_text(text, encoding="utf-8")
    sources = load_config(config, environ={}).sources
    assert [(source.kind, source.url.removeprefix(site.url)) for source in sources] == [
        ("feed", "/feed.xml"),
        ("sitemap", "/sitemap-index.xml"),
    ]
    assert all(source.allow_private for source in sources)


def test_private_addresses_are_refused_unless_allowed(site: FaultServer) -> None:
    with pytest.raises(DiscoverError, match="private, loopback or link-local"):
        discover(f"{site.url}/", GuardedFetcher(AGENT))
    guard = GuardedFetcher(AGENT)
    for url in ("http://169.254.169.254/latest/meta-data/", "http://localhost/", "file:///etc/passwd"):
        with pytest.raises(urllib.error.URLError):
            guard.check(url)


def test_the_command_prints_sources(site: FaultServer, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["--config", str(tmp_path / "none.yaml"), "sources", "discover", f"{site.url}/", "--allow-private"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "kind: feed" in result.stdout
    assert f"url: {site.url}/feed.xml" in result.stdout
    assert "sitemap index" in result.stdout


# -- one resolution per hop, and the connection pinned to the address that was checked ----------

PUBLIC = "93.184.216.34"


class Site:
    """A loopback HTTP(S) server that answers ``body`` and redirects ``/hop?to=URL``; records each request."""

    def __init__(self, body: bytes, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[tuple[str, str]] = []  # (Host header, path)
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append((self.headers.get("Host", ""), self.path))
                if self.path.startswith("/hop?to="):
                    self.send_response(302)
                    self.send_header("Location", self.path.removeprefix("/hop?to="))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = int(self.server.server_address[1])

    def __enter__(self) -> Site:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class Network:
    """Names under ``.test`` with scripted answers, and a public address served by a loopback stand-in.

    ``answers[name]`` is the list of addresses successive lookups return (the last one
    repeats): ``[PUBLIC, "127.0.0.1"]`` is a rebinding name. A connection to ``PUBLIC`` goes
    to the ``public`` stand-in server on 127.0.0.1, so nothing leaves the machine; a
    connection to any other non-loopback address is refused.
    """

    def __init__(self, answers: dict[str, list[str]], public: Site) -> None:
        self.answers = answers
        self.public = public
        self.lookups: list[str] = []
        self.connects: list[tuple[str, int]] = []
        self.real_getaddrinfo = socket.getaddrinfo

    def resolve(self, host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        if not host.endswith(".test"):
            return self.real_getaddrinfo(host, port, *args, **kwargs)
        self.lookups.append(host)
        answers = self.answers[host]
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    def connect(self, address: tuple[str, int], *args: Any) -> socket.socket:
        self.connects.append(address)
        if address[0] == PUBLIC:
            return socket.create_connection(("127.0.0.1", self.public.port), *args)
        if address[0] != "127.0.0.1":
            raise ConnectionRefusedError(f"{address[0]} is outside the test network")
        return socket.create_connection(address, *args)


@pytest.fixture
def inside() -> Iterator[Site]:
    """The loopback service a rebinding name must never reach."""
    with Site(b"inside") as server:
        yield server


@pytest.fixture
def outside() -> Iterator[Site]:
    """The stand-in for the public address the guard checked."""
    with Site(b"outside") as server:
        yield server


@pytest.mark.timeout(30)
def test_a_rebinding_name_cannot_reach_loopback(
    inside: Site, outside: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    network = Network({"rebind.test": [PUBLIC, "127.0.0.1"]}, outside)
    # Any second lookup, by urllib or socket.create_connection, would get 127.0.0.1.
    monkeypatch.setattr(socket, "getaddrinfo", network.resolve)
    fetcher = GuardedFetcher(AGENT, resolve=network.resolve, connect=network.connect)
    final, body = fetcher(f"http://rebind.test:{inside.port}/feed.xml")
    assert inside.requests == []  # the old fetcher checked PUBLIC, then connected to 127.0.0.1
    assert (final, body) == (f"http://rebind.test:{inside.port}/feed.xml", b"outside")
    assert outside.requests == [(f"rebind.test:{inside.port}", "/feed.xml")]  # the name kept in Host
    assert network.lookups == ["rebind.test"]
    assert network.connects == [(PUBLIC, inside.port)]


@pytest.mark.timeout(30)
def test_every_redirect_hop_is_resolved_once_checked_and_pinned(
    inside: Site, outside: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    network = Network(
        {"www.test": [PUBLIC], "cdn.test": [PUBLIC, "127.0.0.1"], "intranet.test": ["127.0.0.1"]}, outside
    )
    monkeypatch.setattr(socket, "getaddrinfo", network.resolve)
    fetcher = GuardedFetcher(AGENT, resolve=network.resolve, connect=network.connect)
    port = inside.port
    _, body = fetcher(f"http://www.test:{port}/hop?to=http://cdn.test:{port}/feed.xml")
    assert body == b"outside"
    assert network.lookups == ["www.test", "cdn.test"]
    with pytest.raises(urllib.error.URLError, match=r"intranet\.test resolves to 127\.0\.0\.1"):
        fetcher(f"http://www.test:{port}/hop?to=http://intranet.test:{port}/")
    with pytest.raises(urllib.error.URLError, match="file"):  # urllib's own scheme check comes first
        fetcher(f"http://www.test:{port}/hop?to=file:///etc/passwd")
    assert inside.requests == []
    assert all(address == (PUBLIC, port) for address in network.connects)


@pytest.mark.timeout(30)
def test_https_is_pinned_and_still_verifies_the_name(tmp_path: Path) -> None:
    """TLS goes to the pinned address, with SNI and the certificate checked for the name."""
    cert, key = _self_signed("feeds.test", tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    with Site(b"over tls", tls=server_tls) as site:
        network = Network({"feeds.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]}, site)
        fetcher = GuardedFetcher(AGENT, allow_private=True, resolve=network.resolve, connect=network.connect)
        fetcher.tls.load_verify_locations(cert)
        _, body = fetcher(f"https://feeds.test:{site.port}/")
        assert body == b"over tls"
        assert site.requests == [(f"feeds.test:{site.port}", "/")]
        with pytest.raises(urllib.error.URLError, match="certificate"):
            fetcher(f"https://other.test:{site.port}/")  # same address, a name the certificate lacks
    assert network.connects == [("127.0.0.1", site.port)] * 2


def _self_signed(name: str, folder: Path) -> tuple[str, str]:
    """A certificate for ``name`` (its own CA), written as PEM files: (certificate, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)
