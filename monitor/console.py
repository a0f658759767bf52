"""A ``console://`` apprise target that writes alerts to standard output.

Registered as an apprise custom plugin when ``monitor.notify`` or the channel checks of
``monitor.config`` import it: both need apprise to know the scheme. It is the demo's
and a developer's first channel: the Markdown body as it would reach a chat room.
"""

from __future__ import annotations

import sys
from typing import Any

from apprise.decorators import notify as apprise_plugin


@apprise_plugin(on="console", name="Console")  # type: ignore[untyped-decorator,no-untyped-call]
def _console(body: str, title: str, notify_type: str, *args: Any, **kwargs: Any) -> bool:
    """Write an alert to standard output."""
    sys.stdout.write(f"\n=== {title} ===\n{body}\n")
    sys.stdout.flush()
    return True
