"""The rules a running monitor uses: the files as they are now, and for a file that is
broken now, its last good version.

Crawls run in child processes that read the rule files themselves (through
``monitor.rulecache``), so an edited file takes effect at the next crawl without a
restart. For "a broken file never takes down the rules already running" the processes
need a shared memory of the last good rules: the ``rule_snapshot`` row. It is written
whenever the files load cleanly and differ from it, and read only when a file is broken
(``monitor.rules.keep_last_good`` then keeps that file's previous rules).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from monitor.errors import ConfigError
from monitor.models import RuleSnapshot
from monitor.rulecache import load_rules_cached
from monitor.rules import Rule, RuleSet, keep_last_good
from monitor.store import Database

_ROW = 1


def running_rules(database: Database, paths: Iterable[Path]) -> tuple[RuleSet, list[ConfigError]]:
    """The rules to run now and the errors of the files that are broken (to report)."""
    fresh, errors = load_rules_cached(paths)
    if errors:
        previous = _load(database)
        return (keep_last_good(fresh, errors, previous) if previous else fresh), errors
    _save(database, fresh)
    return fresh, errors


def _payload(rules: RuleSet) -> tuple[str, list[dict[str, Any]], dict[str, list[str]]]:
    rows = [dataclasses.asdict(rule) for rule in rules.rules]
    entities = {name: list(aliases) for name, aliases in rules.entities.items()}
    text = json.dumps([rows, entities], sort_keys=True, default=list)
    return hashlib.sha256(text.encode("utf-8")).hexdigest(), rows, entities


def _save(database: Database, rules: RuleSet) -> None:
    digest, rows, entities = _payload(rules)
    with database.transaction() as session:
        current = session.scalar(select(RuleSnapshot.digest).where(RuleSnapshot.id == _ROW))
        if current == digest:
            return
        snapshot = session.get(RuleSnapshot, _ROW) or RuleSnapshot(id=_ROW)
        snapshot.digest, snapshot.rules, snapshot.entities = digest, rows, entities
        snapshot.updated_at = datetime.now(UTC)
        session.merge(snapshot)


def _load(database: Database) -> RuleSet | None:
    with database.transaction() as session:
        snapshot = session.get(RuleSnapshot, _ROW)
        if snapshot is None:
            return None
        rows, entities = snapshot.rules, snapshot.entities
    rules = [Rule(**row) for row in rows]  # Rule turns the JSON lists back into tuples
    return RuleSet(rules, {name: tuple(aliases) for name, aliases in entities.items()})
