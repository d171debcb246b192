"""retry_of: a task submitted by RetryTask names the task it retries; idempotent_responses: the answers of
writes that make no task, kept under their idempotency key (issue 14)

Revision ID: 0013
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import BYTEA

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both backends: a batch (copy) of `tasks` on SQLite would lose its status triggers.
    op.add_column("tasks", sa.Column("retry_of", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
    op.create_table(
        "idempotent_responses",
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response", sa.LargeBinary().with_variant(BYTEA(), "postgresql"), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("tenant_id", "idempotency_key"),
    )


def downgrade() -> None:
    op.drop_table("idempotent_responses")
    op.drop_column("tasks", "retry_of")  # SQLite 3.35+ drops a column in place
