"""The rules a running monitor uses: the files as they are now, and for a file that is
broken now, its last good version.

Crawls run in child processes that read the rule files themselves (through
``monitor.watch.cache``), so an edited file takes effect at the next crawl without a
restart. For "a broken file never takes down the rules already running" the processes
need a shared memory of the last good rules: the ``rule_snapshot`` row. It is written
whenever the files load cleanly and differ from it (compared by digest: the cache entry
carries the digest of its rules, computed once when it was written, so an unchanged rule
set costs one primary-key read), and read only when a file is broken
(``monitor.watch.rules.keep_last_good`` then keeps that file's previous rules).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update

from monitor.errors import ConfigError, RuleError, quoted
from monitor.store.database import Database
from monitor.store.dialects import dialect_insert
from monitor.store.models import RuleSnapshot
from monitor.watch.cache import fingerprint, load_cached, snapshot
from monitor.watch.rules import Rule, RuleSet, keep_last_good, usable

log = logging.getLogger(__name__)
_ROW = 1
_DIGEST = select(RuleSnapshot.digest).where(RuleSnapshot.id == _ROW)


def running_rules(database: Database, paths: Iterable[Path]) -> tuple[RuleSet, list[ConfigError]]:
    """The rules to run now and the errors of the files that are broken (to report).

    Reading one file never raises (``monitor.watch.rulefile`` makes any failure that
    file's error); should building the rule set fail all the same (a bug), every file
    keeps its last good version rather than the crawl or dispatch stopping.
    """
    paths = list(paths)
    try:
        loaded = load_cached(paths)
    except Exception as exc:  # last resort: the last good rules keep running
        log.exception("rule files cannot be loaded; their last good version keeps running")
        error = RuleError(f"cannot load the rule files ({type(exc).__name__}: {quoted(str(exc), 200)})")
        previous = _load(database)
        return (previous or RuleSet()), [error]
    fresh, errors = loaded.rules, list(loaded.errors)
    if errors:
        previous = _load(database)
        return (keep_last_good(fresh, errors, previous) if previous else fresh), errors
    _save(database, fresh, loaded.digest)
    return fresh, errors


def _save(database: Database, rules: RuleSet, digest: str) -> None:
    """Write the snapshot of ``rules`` (whose digest is ``digest``) unless it is the stored one.

    The first snapshot is inserted with ``ON CONFLICT DO NOTHING``: processes starting
    together (a scheduler's first jobs, a crawl's ingest workers) all find no row, and on
    PostgreSQL a plain INSERT of the one row would fail all but the first. The others read
    back the row that won and update it only if it holds other rules.
    """
    with database.transaction() as session:
        current = session.scalar(_DIGEST)
        if current == digest:
            return  # the usual case: no need to serialise the rules at all
        _, rows, entities = snapshot(rules)
        values = {"digest": digest, "rules": rows, "entities": entities, "updated_at": datetime.now(UTC)}
        if current is None:
            first = dialect_insert(session, RuleSnapshot).values(id=_ROW, **values)
            if session.execute(first.on_conflict_do_nothing().returning(RuleSnapshot.id)).first():
                return
            if session.scalar(_DIGEST) == digest:  # another process wrote these very rules
                return
        session.execute(update(RuleSnapshot).where(RuleSnapshot.id == _ROW).values(**values))


def _load(database: Database) -> RuleSet | None:
    with database.transaction() as session:
        snapshot = session.get(RuleSnapshot, _ROW)
        if snapshot is None:
            return None
        rows, entities = snapshot.rules, snapshot.entities
    rules: list[Rule] = []
    for row in rows:
        try:
            rules.append(Rule(**row))  # Rule turns the JSON lists back into tuples
        except (TypeError, ValueError):  # written by another version of monitor
            log.warning("stored rule %s not usable by this version", quoted(row.get("name")))
    known = {name: tuple(aliases) for name, aliases in entities.items()}
    return RuleSet(usable(rules, known), known)


class CurrentRules:
    """The running rules of some rule files, read again when the files' contents change.

    For a long-lived process (the crawl engine's ingest, the desk): the files are hashed
    (``monitor.watch.cache.fingerprint``) at most every ``check_every`` seconds, not at each
    use, and read again (``running_rules``: a broken file runs in its last good version,
    logged) only when that hash changes.
    """

    def __init__(self, database: Database, paths: Iterable[Path], check_every: float) -> None:
        self.database = database
        self.paths = list(paths)
        self.check_every = check_every
        self.rules: RuleSet | None = None
        self.key = ""
        self.checked = float("-inf")

    def current(self) -> RuleSet:
        """The rules as the files were at most ``check_every`` seconds ago."""
        now = time.monotonic()
        if self.rules is not None and now - self.checked < self.check_every:
            return self.rules
        self.checked = now
        key = fingerprint(self.paths)
        if self.rules is None or key != self.key:
            self.rules, errors = running_rules(self.database, self.paths)
            self.key = key
            for error in errors:
                log.error("rule file broken, its last good version runs: %s", error)
        return self.rules
