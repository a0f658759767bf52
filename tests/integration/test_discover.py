"""``monitor sources discover``: feeds and sitemaps of the fault site, as YAML that loads as sources."""

from __future__ import annotations

import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from faultserver import FaultServer

from monitor.cli import main
from monitor.config import load_config
from monitor.discover import DiscoverError, GuardedFetcher, discover, to_yaml

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
