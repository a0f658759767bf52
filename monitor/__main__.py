"""Allow ``python -m monitor``."""

from __future__ import annotations

from monitor.cli import main

main()
