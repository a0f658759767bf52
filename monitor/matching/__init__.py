"""The matching engine: query language, reference evaluator, bulk matcher, explanations.

``monitor.rules`` is the only module the rest of the pipeline calls; this package is the
engine behind it. Dependencies point one way: ``text`` (words) < ``tree`` (the query tree)
< ``query`` (parser) < ``evaluate`` (the reference meaning) < ``checks`` (one query
compiled) < ``compiled`` (all rules in one matcher) and ``explain`` (hits and snippets);
``rulefile`` reads rules files (YAML with positions) for ``monitor.rules``.
"""

from __future__ import annotations
