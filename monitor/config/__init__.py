"""Configuration: ``monitor.yaml`` read once into frozen values, every error at ``file:line:col``.

``yamlfile`` reads YAML keeping each node's position (PyYAML's C loader underneath),
``channels`` turns channel entries into apprise URLs, ``crawl`` holds the crawl and operator
sections, and ``model`` builds the ``Config`` the rest of the program is handed.
Imports only ``monitor.errors`` and ``monitor.redact``.
"""

from __future__ import annotations
