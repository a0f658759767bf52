"""The matching engine: query language, reference evaluator, bulk matcher, explanations.

``monitor.watch.rules`` is the only module the rest of the pipeline calls; this package is the
engine behind it. Dependencies point one way: ``text`` (words) < ``tree`` (the query tree)
< ``query`` (parser) < ``evaluate`` (the reference meaning) < ``checks`` (one query
compiled) < ``compiled`` (all rules in one matcher) and ``explain`` (hits and snippets).
It reads no files and touches no database: ``monitor.watch`` loads rules files into it.
"""

from __future__ import annotations
