"""Configuration: ``monitor.yaml`` read once into frozen values, every error at ``file:line:col``.

``yamlfile`` reads YAML keeping each node's position (PyYAML's C loader underneath),
``declare`` is how each setting is declared once (a dataclass field with its key, default,
parser and description), ``values`` holds the one parser of each kind of value,
``channels`` turns channel entries into apprise URLs, ``crawl`` holds the crawl and operator
sections, ``model`` builds the ``Config`` the rest of the program is handed, and
``reference`` renders the README's table of every setting.
Imports only ``monitor.errors`` and ``monitor.redact`` (and APScheduler's cron trigger, lazily).
"""

from __future__ import annotations
