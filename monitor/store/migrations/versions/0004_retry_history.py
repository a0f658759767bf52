"""retry history: alerts retry keeps the attempt count and remembers where it started again

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 13:05:00.000000

``alerts retry`` used to reset ``attempts`` to 0, so an alert that took three attempts
showed "after 1 attempt(s)". It now keeps ``attempts`` and records it in
``retried_after``; the retry budget counts the attempts made since.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema to this revision."""
    for table in ("alerts", "digests"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("retried_after", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    """Downgrade the schema to the previous revision."""
    for table in ("digests", "alerts"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("retried_after")
