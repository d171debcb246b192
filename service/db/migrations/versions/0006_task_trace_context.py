"""a task remembers the request that submitted it: request id and trace context (issue 12, logs and tracing)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: adding them rewrites nothing, on either backend.
    op.add_column("tasks", sa.Column("request_id", sa.String(128), nullable=True))
    op.add_column("tasks", sa.Column("traceparent", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("traceparent")
        batch.drop_column("request_id")
