"""HTML to ``Article``: structured data first, per-source selectors, a general extractor last.

Which library does what:

- ``decode``: charset sniffing with the standard codecs and charset-normalizer.
- lxml builds the tree once (``page.build_tree``); everything else reads that tree.
- ``structured``: JSON-LD (``json``), OpenGraph, Twitter, Dublin Core and meta tags (lxml).
- ``body``: the main text, from trafilatura (fast mode, no comments) on the shared tree,
  after hidden elements are pruned and what trafilatura deletes unread (scripts, styles,
  SVG, asides, footers) is stripped in C; then the repeated headline, byline and standfirst
  are dropped, and ``boilerplate`` removes furniture lines ("Read more:", newsletters,
  copyright), teaser lists and closing contact notes; ``split`` rejoins a body the
  template split around an ad.
- ``language``: a stop-word/script guess when the page declares no language.
- ``dates``: ISO 8601, RFC 2822 and free-form dates (python-dateutil); htmldate as the last
  resort that searches the URL and the text.
- ``authors``: byline cleaning with regular expressions; trafilatura's ranked byline search
  (its ``AUTHOR_XPATHS`` order) before every byline element; the agency or publisher the
  metadata names when no person is named.
- ``text``: element text with blocks on their own lines and no words glued at tag boundaries.
- ``fields``: choosing one title (the visible h1 in the wording the declared titles share,
  unless more of the page's titles say an edited wording of it),
  language and canonical URL among the candidates
  (``monitor.urls.canonical_url``, courlan + w3lib, drops tracking parameters).
"""

from __future__ import annotations

from monitor.parse.page import parse_file, parse_html

__all__ = ["parse_file", "parse_html"]
