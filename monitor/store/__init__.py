"""Storage: SQLAlchemy 2 models, the database handle, the outbox, runs, stories and locks.

``database`` is the handle every other stage is given; ``schema`` and ``migrations`` own the
Alembic schema; ``outbox``, ``runs`` and ``stories`` are the queries of one table family each;
``locks`` and ``outage`` keep one scheduler and one dispatcher leading across processes.
Imports nothing above ``monitor.config``.
"""

from __future__ import annotations
