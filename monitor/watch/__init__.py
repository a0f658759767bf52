"""Watch rules: rules files loaded into the matching engine, cached, kept last-good, backfilled.

``rulefile`` reads the YAML with positions, ``rules`` compiles it into a ``RuleSet``, ``cache``
keeps the compiled set on disk keyed on the files' contents, ``state`` keeps the last good
snapshot in the database, and ``backfill`` runs rules over stored articles.
"""

from __future__ import annotations
