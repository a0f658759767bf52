"""Database URLs as the user writes them: which database they name and which driver opens it.

SQLAlchemy's ``make_url`` does the parsing; this module only adds monitor's defaults (the
psycopg 3 driver for a plain ``postgresql://``). The store, the locks and the scheduler's
job store all open URLs through it, so they agree on the driver.
"""

from __future__ import annotations


def driver_url(url: str) -> str:
    """``url`` with the psycopg 3 driver named when it says plain ``postgresql://``."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url
