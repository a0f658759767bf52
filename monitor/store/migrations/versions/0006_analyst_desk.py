"""analyst desk: story marks, match feedback, web tokens, match indexes, full-text index

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 15:30:00.000000

``monitor web`` keeps what analysts mark (a story read or muted, a match irrelevant) and
the hashes of per-user API/feed tokens. Archive search gets its full-text pre-filter:
FTS5 on SQLite, a ``tsvector`` side table with a GIN index on PostgreSQL
(``monitor.store.fulltext``), filled from the stored articles here and kept in sync by
triggers afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema to this revision."""
    from monitor.store.fulltext import create_index

    op.create_table(
        "story_marks",
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("muted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("story_id"),
    )
    op.create_table(
        "match_feedback",
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["match_id"], ["matches.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("match_id"),
    )
    with op.batch_alter_table("match_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_match_feedback_rule"), ["rule"], unique=False)
    op.create_table(
        "web_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_matches_rule_created", "matches", ["rule", "created_at"], unique=False)
    op.create_index("ix_matches_created", "matches", ["created_at"], unique=False)
    create_index(op.get_bind())


def downgrade() -> None:
    """Downgrade the schema to the previous revision."""
    from monitor.store.fulltext import drop_index

    drop_index(op.get_bind())
    op.drop_index("ix_matches_created", table_name="matches")
    op.drop_index("ix_matches_rule_created", table_name="matches")
    op.drop_table("web_tokens")
    with op.batch_alter_table("match_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_match_feedback_rule"))
    op.drop_table("match_feedback")
    op.drop_table("story_marks")
