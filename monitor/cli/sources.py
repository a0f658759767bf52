"""Commands about sources: their health and discovery (the crawl issue fills this in)."""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    """Attach this module's commands to the top-level group."""
