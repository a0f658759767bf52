"""HTML pieces the templates cannot make well: highlighted passages, hit marks in a body, a bar chart.

Everything is escaped with MarkupSafe (Jinja2's own escaping) before the ``<mark>`` tags go
in, so article text can never become markup. The chart is plain SVG drawn here: a few
dozen rectangles need no chart library and no JavaScript.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from markupsafe import Markup, escape

_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
_PARAGRAPHS = re.compile(r"\n\s*\n")


def snippet_html(snippet: str) -> Markup:
    """A stored snippet (hits in ``**double stars**``) with the hits in ``<mark>``."""
    out: list[str] = []
    pos = 0
    for found in _BOLD.finditer(snippet):
        out.append(str(escape(snippet[pos : found.start()])))
        out.append(f"<mark>{escape(found.group(1))}</mark>")
        pos = found.end()
    out.append(str(escape(snippet[pos:])))
    return Markup("".join(out))


def snippet_text(snippet: str) -> str:
    """A stored snippet without its markers, for places that take plain text."""
    return _BOLD.sub(r"\1", snippet)


def marked(text: str, ranges: Iterable[tuple[int, int]]) -> Markup:
    """``text`` as paragraphs with the character ``ranges`` in ``<mark>`` (overlaps merged)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    pieces: list[str] = []
    pos = 0
    for start, end in merged:
        pieces.append(str(escape(text[pos:start])))
        pieces.append(f"<mark>{escape(text[start:end])}</mark>")
        pos = end
    pieces.append(str(escape(text[pos:])))
    html = "".join(pieces)
    # A hit never spans a paragraph break, so splitting the escaped text keeps tags whole.
    return Markup("".join(f"<p>{part.strip()}</p>" for part in _PARAGRAPHS.split(html) if part.strip()))


def bar_chart(per_day: Sequence[tuple[str, int]], width: int = 600, height: int = 80) -> Markup:
    """An SVG bar chart of (day, count) pairs, one bar per day, with the count as a tooltip."""
    if not per_day:
        return Markup("")
    top = max(count for _, count in per_day) or 1
    step = width / len(per_day)
    bars = []
    for index, (day, count) in enumerate(per_day):
        bar = round((height - 14) * count / top, 1)
        x = round(index * step + 1, 1)
        bars.append(
            f'<rect x="{x}" y="{height - 12 - bar}" width="{max(step - 2, 1):.1f}" height="{bar}">'
            f"<title>{escape(day)}: {count}</title></rect>"
        )
    first, last = escape(per_day[0][0]), escape(per_day[-1][0])
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="matches per day, {first} to {last}, at most {top} a day">'
        f"{''.join(bars)}"
        f'<text x="0" y="{height - 1}">{first}</text>'
        f'<text x="{width}" y="{height - 1}" text-anchor="end">{last}</text></svg>'
    )
