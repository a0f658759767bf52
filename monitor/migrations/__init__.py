"""Alembic migrations of monitor's database (``monitor.schema`` runs them; no alembic.ini needed)."""
