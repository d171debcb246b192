"""retry_of: a task submitted by RetryTask names the task it retries (issue 14)

Revision ID: 0009_dryretry
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_dryretry"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both backends: a batch (copy) of `tasks` on SQLite would lose its status triggers.
    op.add_column("tasks", sa.Column("retry_of", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))


def downgrade() -> None:
    op.drop_column("tasks", "retry_of")  # SQLite 3.35+ drops a column in place
