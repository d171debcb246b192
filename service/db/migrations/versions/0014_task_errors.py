"""task_errors: every error a task reported, with the record as sent (issue 14)

Written in the transaction that finishes the task, only when there is an error; deleted with the task.

Revision ID: 0014
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "task_errors",
        sa.Column("task_id", BigId, sa.ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("file", sa.String(length=64), server_default="", nullable=False),
        sa.Column("row", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("column", sa.Text(), server_default="", nullable=False),
        sa.Column("record_id", sa.Text(), server_default="", nullable=False),
        sa.Column("record", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("task_errors")
