"""One module per schema revision, oldest first; written by ``alembic revision --autogenerate``."""
