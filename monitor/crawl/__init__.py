"""The crawl side: Scrapy settings, spider glue, politeness, safety, and the crawl runner.

Scrapy does the fetching (``settings``, ``pipelines``, ``extensions``, ``items``); ``feeds``
and ``listing`` read feeds, sitemaps and section pages; ``ingest`` parses, matches and
stores off the reactor; ``runner`` starts one crawl and records it; ``scrapyd`` and
``discover`` are the scale-out and source-finding helpers.
"""

from __future__ import annotations
