"""The article body: the main text of the page, without navigation, bios or comments.

trafilatura does the work here, on the tree that ``monitor.parse`` already built (it
accepts an lxml tree, so the page is parsed once). We favour precision because a rule
matching a sidebar or a "more by this author" list is worse than a missed last line.
"""

from __future__ import annotations

import re
import warnings

from lxml import html as lxml_html

with warnings.catch_warnings():
    # trafilatura's downloader probes for optional SOCKS support; we never download with it.
    warnings.simplefilter("ignore")
    import trafilatura

_BLANK_LINES = re.compile(r"\n\s*\n+")
_SPACES = re.compile(r"[ \t\u00a0]+")


def extract_body(tree: lxml_html.HtmlElement, url: str | None = None) -> str:
    """The main text of ``tree`` as paragraphs separated by blank lines ("" if none)."""
    text = trafilatura.extract(
        tree,
        url=url,
        favor_precision=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        deduplicate=False,
        with_metadata=False,
        output_format="txt",
    )
    return tidy(text or "")


def tidy(text: str) -> str:
    """One paragraph per line pair, no runs of spaces, no trailing blanks."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n\n".join(line for line in lines if line)).strip()
