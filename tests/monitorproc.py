"""`monitor` as a real child process, for the end-to-end tests of long-running commands.

The child gets the test's environment without any ``MONITOR_*`` variable (a developer's
shell may set ``MONITOR_DATABASE_URL``), and, when a ``cache`` folder is given, its own
rule cache there, so that tests never share compiled rules through ``~/.cache``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def monitor_env(cache: Path | None = None) -> dict[str, str]:
    """The environment for a `monitor` child: no ``MONITOR_*`` leaking in from the caller."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MONITOR_")}
    if cache is not None:
        env["XDG_CACHE_HOME"] = str(cache)
    return env


def start_monitor(config: Path, *args: str, cache: Path | None = None) -> subprocess.Popen[str]:
    """Start ``monitor --config CONFIG ARGS...`` with its output piped as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=monitor_env(cache),
    )
