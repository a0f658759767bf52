"""What ``monitor run``'s periodic jobs keep between runs: the dispatcher, and the rule files last checked.

The dispatch job and the rule-check job both run every ``dispatch.every`` seconds. Each
used to start from nothing: open the database (a schema check), and load the whole rule
set from the rule cache, hundreds of thousands of objects unpickled (then collected) only
to read each rule's delivery settings (the dispatcher) or to find that nothing changed
(the rule check). With 10,000 rules that was about 0.35 s of CPU per run, two runs every
10 s: more than all the polls of 2,000 feeds cost together. Measured in ``make bench-polling``.

The rule files' ``fingerprint`` (the rule cache's own key: the files' bytes, hashed; a few
ms) says when either must look again:

- ``KeptDispatcher`` keeps one ``Dispatcher`` (and its open ``Database``) while monitor.yaml
  (the ``Config`` object) and the rule files are unchanged. A ``Dispatcher`` may run any
  number of passes; one pass at a time is the caller's lock (``run_dispatch_job``);
- ``RuleCheck`` says whether the rule files changed since the last check that ended
  without an error, so an unchanged rule set is not loaded again: the snapshot of its last
  good version is already stored and its errors already logged.
"""

from __future__ import annotations

from monitor.config.model import Config
from monitor.notify import Dispatcher
from monitor.store.database import Database
from monitor.watch.cache import fingerprint


class KeptDispatcher:
    """One ``Dispatcher`` per process, built again when monitor.yaml or the rule files change."""

    def __init__(self) -> None:
        self.config: Config | None = None
        self.key = ""
        self.dispatcher: Dispatcher | None = None
        self.database: Database | None = None

    def get(self, config: Config) -> Dispatcher:
        """The dispatcher of ``config`` with the rule files as they are now."""
        key = fingerprint(list(config.rule_paths))
        if self.dispatcher is not None and self.config is config and self.key == key:
            return self.dispatcher
        if self.database is None or self.database.url != config.database_url:
            self.close()
            self.database = Database.open(config.database_url)
        self.dispatcher = Dispatcher.from_config(self.database, config)
        self.config, self.key = config, key
        return self.dispatcher

    def close(self) -> None:
        """Forget the dispatcher and release its database connections."""
        if self.database is not None:
            self.database.close()
        self.config, self.key, self.dispatcher, self.database = None, "", None, None


class RuleCheck:
    """Whether the rule files changed since they were last checked without an error."""

    def __init__(self) -> None:
        self.checked: dict[str, str] = {}  # config path -> fingerprint of its rule files

    def changed(self, config_path: str, config: Config) -> str | None:
        """The rule files' new fingerprint if they changed (or were never checked), else None."""
        key = fingerprint(list(config.rule_paths))
        return None if self.checked.get(config_path) == key else key

    def done(self, config_path: str, key: str) -> None:
        """The check of the files with fingerprint ``key`` is complete (reported, snapshot saved)."""
        self.checked[config_path] = key
