"""Scheduler jobs in the database: kept across restarts, updated when monitor.yaml changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config.model import load_config
from monitor.ops.schedule import build_scheduler, sync_jobs


def config_with(tmp_path: Path, sources: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(f"sources:\n{sources}dispatch: {{every: 30s}}\n", encoding="utf-8")
    return path


FEED = "  - {name: feed, kind: feed, url: 'https://a.example/rss', schedule: {every: 10m}}\n"
WIRE = "  - {name: wire, kind: feed, url: 'https://b.example/rss', schedule: {cron: '*/5 * * * *'}}\n"


def stored_jobs(path: Path) -> dict[str, tuple[str, datetime]]:
    """Open a scheduler on the file's database, sync, read the jobs back, shut down."""
    config = load_config(path, environ={})
    scheduler = build_scheduler(config)
    scheduler.start(paused=True)
    try:
        sync_jobs(scheduler, config)
        return {job.id: (job.name, job.next_run_time) for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)


def test_jobs_survive_restarts_and_follow_the_config(tmp_path: Path) -> None:
    path = config_with(tmp_path, FEED + WIRE)
    before = datetime.now(UTC)
    first = stored_jobs(path)
    assert set(first) == {"crawl:feed", "crawl:wire", "dispatch", "rules"}
    assert first["crawl:feed"][0] == "crawl feed (every 600s, jitter 30s)"
    assert before - timedelta(seconds=1) <= first["crawl:feed"][1] <= datetime.now(UTC)  # new: crawl now

    again = stored_jobs(path)
    assert again == first  # a restart keeps each job's place in time: missed runs run once

    path = config_with(tmp_path, FEED.replace("10m", "20m"))
    changed = stored_jobs(path)
    assert set(changed) == {"crawl:feed", "dispatch", "rules"}  # wire was removed from monitor.yaml
    assert changed["crawl:feed"][0] == "crawl feed (every 1200s, jitter 30s)"
