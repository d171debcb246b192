"""catalog schemas and bulk-update rate limits (issue 5)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Catalog schemas live in catalogs.field_schema (0001). This adds the per-catalog sliding log of the
bulk per-item API's rate limit.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bulk_rate_limits",
        sa.Column("catalog_id", sa.Integer(), nullable=False),
        sa.Column(
            "request_times",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["catalog_id"], ["catalogs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("catalog_id"),
    )


def downgrade() -> None:
    op.drop_table("bulk_rate_limits")
