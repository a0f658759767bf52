"""The README's configuration table, rendered from the settings' one declaration.

``python -m monitor.config.reference`` prints it; ``--write README.md`` (``make docs``)
puts it between the README's ``<!-- settings:start -->`` and ``<!-- settings:end -->``
markers, and a unit test fails while the two differ. Nothing here is written by hand
about a setting: keys, kinds, defaults and descriptions all come from the dataclass
fields (``monitor.config.declare``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import is_dataclass
from pathlib import Path

from monitor.config.channels import Channel
from monitor.config.crawl import CrawlSettings, OperatorSettings
from monitor.config.declare import Setting, settings_of
from monitor.config.desk import DeskSettings
from monitor.config.model import Config, Schedule, Source
from monitor.config.values import format_duration, format_size

START = "<!-- settings:start -->"
END = "<!-- settings:end -->"
COMMAND = "python -m monitor.config.reference --write README.md"  # also: make docs
SECTIONS: tuple[tuple[str, type, str | None], ...] = (
    ("the top level of `monitor.yaml`", Config, None),
    ("`dispatch:`, the alert dispatcher", Config, "dispatch"),
    ("`crawl:`, every crawl", CrawlSettings, None),
    ("`operator:`, source-health alerts", OperatorSettings, None),
    ("`web:`, the analysts' desk", DeskSettings, None),
    ("each entry of `sources:`", Source, None),
    ("a source's `schedule:`", Schedule, None),
    ("`channels:` in the long form, `TAG: {urls: [...], ...}`", Channel, None),
)


def render() -> str:
    """Every setting as Markdown tables, one per section: key, type, default, description."""
    parts = []
    for title, cls, section in SECTIONS:
        rows = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
        rows += [_row(declared) for declared in settings_of(cls, section)]
        parts.append(f"**{title[0].upper()}{title[1:]}**\n\n" + "\n".join(rows))
    return "\n\n".join(parts) + "\n"


def replaced(text: str, table: str) -> str:
    """``text`` (the README) with ``table`` between the markers; ``ValueError`` without them."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"no {START} ... {END} markers")
    return f"{text[: start + len(START)]}\n{table}{text[end:]}"


def _row(declared: Setting) -> str:
    cells = (f"`{declared.key}`", declared.about.kind, _default(declared), declared.about.help)
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _default(declared: Setting) -> str:
    """The default as a reader wants it: ``15m`` rather than ``900``, ``8MB`` rather than bytes."""
    value, kind = declared.default, declared.about.kind
    if declared.about.shown is not None:
        return declared.about.shown
    if declared.required:
        return "required"
    if is_dataclass(value):
        return "below"
    if value is None or value in ((), {}):
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int) and kind.startswith("duration"):
        return f"`{format_duration(value)}`" if value else "`0`"
    if isinstance(value, int) and kind == "size":
        return f"`{format_size(value)}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    return f"`{value}`"


def main(argv: list[str] | None = None) -> int:
    """Print the table, or write it into a README between its markers."""
    parser = argparse.ArgumentParser(prog="python -m monitor.config.reference", description=__doc__)
    parser.add_argument("--write", type=Path, metavar="README", help="replace the table in this file")
    args = parser.parse_args(argv)
    table = render()
    if args.write is None:
        sys.stdout.write(table)
        return 0
    text = args.write.read_text(encoding="utf-8")
    args.write.write_text(replaced(text, table), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
