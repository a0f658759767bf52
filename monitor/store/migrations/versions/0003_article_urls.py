"""article urls: the addresses an article was fetched from, besides its canonical URL

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 12:50:00.000000

The stored articles' own ``url`` (the address they were fetched from) is copied in, so
the first crawl after the upgrade already skips pages whose canonical URL differs from
their feed link (``?cmp=rss``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def upgrade() -> None:
    """Upgrade the schema to this revision."""
    table = op.create_table(
        "article_urls",
        sa.Column("url_key", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("url_key"),
    )
    with op.batch_alter_table("article_urls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_article_urls_article_id"), ["article_id"], unique=False)
    _copy_fetched_urls(table)


def _copy_fetched_urls(table: sa.Table) -> None:
    """One row per stored article fetched from an address other than its canonical URL."""
    from monitor.store.database import fetched_url_rows  # the same keys as the running code computes
    from monitor.store.dialects import conflict_insert

    connection = op.get_bind()
    insert = conflict_insert(connection.dialect.name, table).on_conflict_do_nothing()
    articles = sa.table("articles", sa.column("id"), sa.column("url"), sa.column("canonical_url"))
    last = 0
    while True:
        rows = connection.execute(
            sa.select(articles.c.id, articles.c.url, articles.c.canonical_url)
            .where(articles.c.id > last)
            .order_by(articles.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        last = rows[-1].id
        found = [values for row in rows for values in fetched_url_rows(row.id, row.canonical_url, [row.url])]
        if found:
            connection.execute(insert, found)


def downgrade() -> None:
    """Return the schema to the previous revision."""
    with op.batch_alter_table("article_urls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_urls_article_id"))
    op.drop_table("article_urls")
