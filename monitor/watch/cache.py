"""Rule files read and compiled once per change, not once per process: a per-user cache.

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

An entry is keyed by each file's name and a hash of its bytes (and, for a rules folder,
the names of the files in it, so an added or removed file counts): any change of
contents reads the files again, even one that keeps the size and modification time (an
edit within the clock's resolution, a copy or a checkout that restores an old mtime).
Hashing a few megabytes of YAML takes milliseconds; reading it takes seconds. Compiled
objects are not trusted across code changes either: the key also covers monitor's and
Python's versions, the bytes of the modules whose classes are pickled
(``monitor.watch.rules``, ``monitor.errors``, ``monitor.matching``, this one) and the
pyahocorasick extension. Pickles are only read from a folder that belongs to this
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
from monitor.config.yamlfile import MAX_BYTES
from monitor.errors import ConfigError
from monitor.watch.rulefile import folder_files, read_rule_files
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
    if folder is None:
        return _read(paths)
    key = fingerprint(paths)
    entry = folder / f"rules-{key}.pickle"
    found = _unpickle(entry) if _trusted(entry) else None
    if not isinstance(found, Loaded):
        found = _read(paths)
        # A file changed while it was read: its entry would hold other contents than its key.
        if fingerprint(paths) == key:
            _store(entry, found)
    return found


def clean_rules(paths: Iterable[Path]) -> tuple[Rule, ...]:
    """The rules of the files without errors, for their settings (the dispatcher's modes).

    From the cache when there is one; without it the files are read but no matcher is
    compiled, since nothing is matched with these rules.
    """
    paths = [Path(path) for path in paths]
    folder = cache_folder()
    if folder is None:
        return tuple(Rule(**fields) for fields in read_rule_files(paths).rules)
    return load_cached(paths, folder).rules.rules


def _read(paths: list[Path]) -> Loaded:
    files = read_rule_files(paths)
    rules = RuleSet([Rule(**fields) for fields in files.rules], files.entities)
    return Loaded(rules, list(files.errors), snapshot(rules)[0])


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
    """A key that changes when the contents of any rules file (or the files of a folder) change.

    Files are named as given, since rules and errors carry that name; their bytes are
    hashed, never their size or modification time alone. What cannot be read (a missing
    path, an unreadable folder, a FIFO) is keyed by why, and its error comes from reading it.
    """
    digest = hashlib.blake2b(digest_size=16)
    for part in (__version__, sys.version, _code_digest()):
        digest.update(f"{part}\n".encode())
    for path in paths:
        files = [path]
        if path.is_dir():
            try:
                files = [path, *folder_files(path)]
            except OSError as exc:
                digest.update(f"{path}:folder unreadable {exc.errno}\n".encode())
        for file in files:
            digest.update(f"{file}:{_contents_key(file)}\n".encode())
    return digest.hexdigest()


def _contents_key(file: Path) -> str:
    """The hash of a regular file's bytes (at most ``MAX_BYTES`` plus one); else why not."""
    try:
        info = file.stat()
        if stat.S_ISDIR(info.st_mode):
            return "folder"
        if not stat.S_ISREG(info.st_mode):  # never open a FIFO or a device: it may block
            return f"special {stat.S_IFMT(info.st_mode)}"
        with open(file, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        return f"unreadable {exc.errno}"
    # A file over the limit is refused with its size in the message.
    return f"{info.st_size}:{hashlib.blake2b(data, digest_size=16).hexdigest()}"


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
