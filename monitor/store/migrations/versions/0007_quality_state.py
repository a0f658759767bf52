"""source_health.quality_state: whether the operator was told a source's extraction degraded

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 15:45:00.000000

``monitor.crawl.quality`` compares a source's newest pages with the ones before them; the
operator hears once when the share of pages without a body, date or author jumps, and once
when it is back. This column remembers which of the two was said last. Existing sources
start ``ok``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema to this revision."""
    with op.batch_alter_table("source_health", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("quality_state", sa.String(length=16), nullable=False, server_default="ok")
        )


def downgrade() -> None:
    """Downgrade the schema to the previous revision."""
    with op.batch_alter_table("source_health", schema=None) as batch_op:
        batch_op.drop_column("quality_state")
