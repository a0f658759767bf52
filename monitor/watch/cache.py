"""Rule files read and compiled once per change, not once per crawl: a per-user cache.

Every crawl (and every ingest worker of a crawl) is a new process, and reading 10,000
rules from YAML with positions (PyYAML's composer, in pure Python, via
``monitor.watch.rulefile``) takes seconds of CPU, compiling them into a ``RuleSet``
(parsing every query, building the matcher) a second or two more, for every source,
every few minutes. The compiled ``RuleSet``, the files' errors and the digest of the
``rule_snapshot`` payload (``snapshot``, for ``monitor.watch.state``) are pickled together
into the user's cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``, ``monitor/``), so
loading an unchanged rule set is one unpickling: the queries, the matcher's checks
(``functools.partial``, not closures) and its Aho-Corasick automaton as they were built.
Query terms recompute their hash on load (``str`` hashes differ between processes).

An entry is keyed by each file's path, size and modification time (and every file of a
rules folder, and the folder itself, so an added or removed file counts): any change
reads the files again. Compiled objects are not trusted across code changes either: the
key also covers monitor's and Python's versions, the bytes of the modules whose classes
are pickled (``monitor.watch.rules``, ``monitor.errors``, ``monitor.matching``, this one) and
the pyahocorasick extension. Pickles are only read from a folder that belongs to this
user and that nobody else can write to; the cache is skipped rather than trusted
otherwise.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import hashlib
import json
import logging
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ahocorasick  # type: ignore[import-not-found]  # no stubs published

import monitor.errors
import monitor.matching
import monitor.watch.rules
from monitor import __version__
from monitor.errors import ConfigError
from monitor.watch.rulefile import read_rule_files
from monitor.watch.rules import Rule, RuleSet

log = logging.getLogger(__name__)
KEEP = 8  # rule sets cached at once (several configurations, a test suite)


@dataclass(slots=True)
class Loaded:
    """What one cache entry holds: the compiled rules of the clean files, every error."""

    rules: RuleSet
    errors: list[ConfigError]
    digest: str  # of ``snapshot(rules)``, computed once when the entry is written


def load_rules_cached(paths: Iterable[Path], folder: Path | None = None) -> tuple[RuleSet, list[ConfigError]]:
    """``monitor.watch.rules.load_rules``, reading the files only when they changed since last time."""
    loaded = load_cached(paths, folder)
    return loaded.rules, list(loaded.errors)


def load_cached(paths: Iterable[Path], folder: Path | None = None) -> Loaded:
    """The rules of ``paths`` with their errors and snapshot digest, from the cache if unchanged."""
    paths = [Path(path) for path in paths]
    folder = folder if folder is not None else cache_folder()
    found = None
    entry = folder / f"rules-{fingerprint(paths)}.pickle" if folder is not None else None
    if entry is not None and _trusted(entry):
        found = _unpickle(entry)
    if not isinstance(found, Loaded):
        files = read_rule_files(paths)
        rules = RuleSet([Rule(**fields) for fields in files.rules], files.entities)
        found = Loaded(rules, list(files.errors), snapshot(rules)[0])
        if entry is not None:
            _store(entry, found)
    return found


def snapshot(rules: RuleSet) -> tuple[str, list[dict[str, Any]], dict[str, list[str]]]:
    """The ``rule_snapshot`` row of ``rules`` (``monitor.watch.state``): digest, rules, entities."""
    rows = [dataclasses.asdict(rule) for rule in rules.rules]
    entities = {name: list(aliases) for name, aliases in rules.entities.items()}
    text = json.dumps([rows, entities], sort_keys=True, default=list)
    return hashlib.sha256(text.encode("utf-8")).hexdigest(), rows, entities


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
    parts = [__version__, sys.version, _code_digest()]
    for path in paths:
        files = [path]
        if path.is_dir():
            try:
                files += sorted(child for child in path.iterdir() if child.is_file())
            except OSError:  # an unreadable folder: its error comes from reading it
                parts.append(f"{path.resolve()}:unreadable")
        for file in files:
            try:
                info = file.stat()
            except OSError:
                parts.append(f"{file.resolve()}:missing")
                continue
            parts.append(f"{file.resolve()}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


@functools.cache
def _code_digest() -> str:
    """A digest of the code that pickled entries depend on: its classes and how they load."""
    matching = Path(monitor.matching.__file__).parent
    modules: list[str | Path] = [monitor.watch.rules.__file__, monitor.errors.__file__, __file__]
    modules += sorted(matching.glob("*.py"))
    digest = hashlib.sha256()
    try:
        for module in modules:
            path = Path(module)
            digest.update(f"{path.name}:".encode())
            digest.update(path.read_bytes())
        extension = Path(ahocorasick.__file__).stat()  # the automaton's pickle format is the library's
    except OSError:  # code we cannot read cannot vouch for a pickle: a key no other process shares
        return f"unreadable:{os.getpid()}:{os.urandom(8).hex()}"
    digest.update(f"ahocorasick:{extension.st_size}:{extension.st_mtime_ns}".encode())
    return digest.hexdigest()


def _unpickle(entry: Path) -> object:
    """The entry's object, or None if it cannot be read.

    Unpickling a big rule set allocates hundreds of thousands of objects: the cyclic
    collector is held off meanwhile (it would walk them all again and again, tripling the
    time), as ``RuleSet`` does while building.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(entry.read_bytes())
    except Exception as exc:  # a damaged or foreign entry: read the files instead
        log.info("rule cache entry not used: %s", exc)
        return None
    finally:
        if collecting:
            gc.enable()
            if gc.get_count()[0] > 200_000:  # move the new objects to the oldest generation at once
                gc.collect()


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


def _store(entry: Path, found: Loaded) -> None:
    """Write the entry atomically (a temporary file renamed); keep only the newest few."""
    temporary = None
    try:
        entries = sorted(entry.parent.glob("rules-*.pickle"), key=_age)
        for old in entries[: max(0, len(entries) - KEEP + 1)]:
            with contextlib.suppress(OSError):
                old.unlink()
        handle, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".rules-")
        with os.fdopen(handle, "wb") as out:
            pickle.dump(found, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, entry)
    except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError) as exc:
        log.info("rule cache not written: %s", exc)
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
