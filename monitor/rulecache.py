"""Rule files read once per change, not once per crawl: a per-user cache of what they hold.

Every crawl is a new process, and reading 10,000 rules from YAML with positions (PyYAML's
composer, in pure Python, via ``monitor.matching.rulefile``) takes seconds of CPU each
time, for every source, every few minutes. What the files hold (``RuleFiles``: plain rule
fields, entities, errors) is pickled into the user's cache folder (``$XDG_CACHE_HOME``
or ``~/.cache``, ``monitor/``), keyed by each file's path, size and modification time
(and every file of a rules folder, and the folder itself, so an added or removed file
counts); any change reads the files again. The rules are still compiled in each process
(``RuleSet``). Pickles are only read from a folder that belongs to this user and that
nobody else can write to; the cache is skipped rather than trusted otherwise.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from monitor import __version__
from monitor.errors import ConfigError
from monitor.matching.rulefile import RuleFiles, read_rule_files
from monitor.rules import Rule, RuleSet

log = logging.getLogger(__name__)
KEEP = 8  # rule sets cached at once (several configurations, a test suite)


def load_rules_cached(paths: Iterable[Path], folder: Path | None = None) -> tuple[RuleSet, list[ConfigError]]:
    """``monitor.rules.load_rules``, reading the files only when they changed since last time."""
    paths = [Path(path) for path in paths]
    folder = folder if folder is not None else cache_folder()
    found = None
    entry = folder / f"rules-{fingerprint(paths)}.pickle" if folder is not None else None
    if entry is not None and _trusted(entry):
        with contextlib.suppress(OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
            found = pickle.loads(entry.read_bytes())
    if not isinstance(found, RuleFiles):
        found = read_rule_files(paths)
        if entry is not None:
            _store(entry, found)
    return RuleSet([Rule(**fields) for fields in found.rules], found.entities), list(found.errors)


def cache_folder() -> Path | None:
    """This user's cache folder for monitor, created private; None if that is not possible."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(base) / "monitor"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if _private(folder) else None


def fingerprint(paths: list[Path]) -> str:
    """A key that changes when any rule file (or the list of files in a folder) changes."""
    parts = [__version__, sys.version]
    for path in paths:
        files = [path]
        if path.is_dir():
            files += sorted(child for child in path.iterdir() if child.is_file())
        for file in files:
            try:
                info = file.stat()
            except OSError:
                parts.append(f"{file.resolve()}:missing")
                continue
            parts.append(f"{file.resolve()}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _private(path: Path) -> bool:
    try:
        info = path.stat()
    except OSError:
        return False
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _trusted(entry: Path) -> bool:
    return entry.is_file() and _private(entry) and _private(entry.parent)


def _age(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _store(entry: Path, found: RuleFiles) -> None:
    """Write the entry atomically (a temporary file renamed); keep only the newest few."""
    try:
        entries = sorted(entry.parent.glob("rules-*.pickle"), key=_age)
        for old in entries[: max(0, len(entries) - KEEP + 1)]:
            with contextlib.suppress(OSError):
                old.unlink()
        handle, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".rules-")
        with os.fdopen(handle, "wb") as out:
            pickle.dump(found, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, entry)
    except (OSError, pickle.PicklingError) as exc:
        log.info("rule cache not written: %s", exc)
