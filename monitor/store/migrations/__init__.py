"""Alembic migrations of monitor's database (``monitor.store.schema`` runs them; no alembic.ini needed)."""
