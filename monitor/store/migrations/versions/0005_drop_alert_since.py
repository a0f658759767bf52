"""drop source_health.alert_since: written on every alert-state change, never read

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 15:20:00.000000

``monitor.crawl.health`` set it with each change of ``alert_state``, and nothing read it.
The downgrade adds it back empty (NULL), as for a source whose state never changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema to this revision."""
    with op.batch_alter_table("source_health", schema=None) as batch_op:
        batch_op.drop_column("alert_since")


def downgrade() -> None:
    """Downgrade the schema to the previous revision."""
    with op.batch_alter_table("source_health", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_since", sa.DateTime(timezone=True), nullable=True))
