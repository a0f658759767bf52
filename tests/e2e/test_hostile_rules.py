"""End to end: a hostile rules file next to a good one never stops a crawl or a dispatch.

Issue 11: a rules file with a NUL byte, 5,000 nested parentheses or a YAML alias bomb
stopped every crawl before it fetched anything and made dispatch print a traceback. Now
that file is reported (``monitor check``, the crawl's log) and the other files run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_crawl_alert import ROOT, SEED, monitor, write_config

from monitor.demo.server import SiteServer, site_root
from monitor.demo.smtpsink import SmtpSink

pytestmark = pytest.mark.slow


def _alias_bomb() -> str:
    lines = ['  a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "entities:\n" + "\n".join(lines) + "\nrules:\n  - name: bomb\n    query: lol\n"


HOSTILE = {
    "nul": (
        b"rules:\n  - name: nul\n    query: Dai\x00mler\n",
        "hostile.yaml:3:15: a NUL byte (U+0000) is not allowed in a YAML file",
    ),
    "parens": (
        f"rules:\n  - name: parens\n    query: '{'(' * 5000}Daimler{')' * 5000}'\n".encode(),
        "hostile.yaml:3:10013: query is too long: 10,007 characters, the limit is 10,000",
    ),
    "deep-parens": (
        f"rules:\n  - name: parens\n    query: '{'(' * 4000}Daimler{')' * 4000}'\n".encode(),
        "hostile.yaml:3:63: query nested deeper than 50 levels",
    ),
    "alias-bomb": (
        _alias_bomb().encode(),
        "hostile.yaml:6:12: YAML aliases here expand to more than 10,000 values",
    ),
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_rule_file_leaves_the_good_ones_crawling_and_alerting(
    tmp_path: Path, smtp_sink: SmtpSink, kind: str
) -> None:
    content, error = HOSTILE[kind]
    rules = tmp_path / "rules"
    rules.mkdir()
    shipped = (ROOT / "rules" / "daimler-renault.yaml").read_text(encoding="utf-8")
    (rules / "daimler-renault.yaml").write_text(shipped, encoding="utf-8")
    (rules / "hostile.yaml").write_bytes(content)
    env_cache = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    with SiteServer(site_root()) as site:
        config = write_config(tmp_path, site, smtp_sink)
        config.write_text(config.read_text(encoding="utf-8").replace(str(ROOT / "rules"), str(rules)))
        crawl = monitor(config, "crawl", "autoguide-feed", extra_env=env_cache)
        check = monitor(config, "check", extra_env=env_cache)
        send = monitor(config, "alerts", "send", extra_env=env_cache)
    assert crawl.returncode == 0, crawl.stderr
    assert "Traceback" not in crawl.stderr
    assert "alerts: 1 sent, 0 retrying, 0 failed" in crawl.stdout, crawl.stdout + crawl.stderr
    assert len(smtp_sink.messages) == 1
    assert SEED["title"] in smtp_sink.messages[0]["Subject"]
    assert check.returncode == 1
    assert "Traceback" not in check.stderr
    assert check.stderr.startswith(f"{rules / error}"), check.stderr
    assert send.returncode == 0, send.stderr
    assert "Traceback" not in send.stderr


@pytest.mark.timeout(300)
def test_a_file_turned_hostile_between_crawls_keeps_its_last_good_rules(
    tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    shipped = (ROOT / "rules" / "daimler-renault.yaml").read_text(encoding="utf-8")
    (rules / "daimler-renault.yaml").write_text(shipped, encoding="utf-8")
    env_cache = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    with SiteServer(site_root()) as site:
        config = write_config(tmp_path, site, smtp_sink)
        config.write_text(config.read_text(encoding="utf-8").replace(str(ROOT / "rules"), str(rules)))
        first = monitor(config, "crawl", "autoguide-feed", extra_env=env_cache)
        assert first.returncode == 0, first.stderr
        assert len(smtp_sink.messages) == 1
        # The shipped rule's file now also holds a NUL byte; a new, good file adds a rule.
        (rules / "daimler-renault.yaml").write_bytes(shipped.encode() + b"# \x00\n")
        (rules / "other.yaml").write_text(
            "rules:\n  - name: fiat-chrysler\n    query: title:Fiat\n    channels: [alerts]\n",
            encoding="utf-8",
        )
        second = monitor(config, "crawl", "motorwire-industry", extra_env=env_cache)
        backfill = monitor(
            config, "backfill", "daimler-renault-alliance", "--since", "2010-01-01", extra_env=env_cache
        )
    assert second.returncode == 0, second.stderr
    subjects = sorted(message["Subject"] for message in smtp_sink.messages)
    assert len(subjects) == 2, subjects
    assert subjects[0].startswith("[daimler-renault-alliance]")
    assert subjects[1].startswith("[fiat-chrysler] Fiat")
    # The broken file's last good version still runs: both copies of the story match.
    assert "2 hit(s)" in backfill.stdout, backfill.stderr
