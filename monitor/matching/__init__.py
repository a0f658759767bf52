"""The matching engine: query language, reference evaluator, bulk matcher, explanations.

``monitor.rules`` is the only module the rest of the pipeline calls; this package is the
engine behind it. Dependencies point one way: ``text`` < ``tree`` < ``query`` <
``evaluate`` < ``compiled`` < ``explain``.
"""

from __future__ import annotations
