"""webhooks: a task's notification_url, tenants' default webhooks, the durable deliveries queue (issue 12)

A finished task's delivery is inserted in the transaction that finishes it (service.webhooks.outbox), then
claimed by any worker (FOR UPDATE SKIP LOCKED on PostgreSQL), posted, and retried with backoff until it
succeeds or is given up.

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import BYTEA

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Bytes = sa.LargeBinary().with_variant(BYTEA(), "postgresql")
Timestamp = sa.DateTime(timezone=True)
DUE = sa.text("status = 'PENDING'")
NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.add_column("tasks", sa.Column("notification_url", sa.String(length=2048), nullable=True))
    op.create_table(
        "tenant_webhooks",
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
        # NULL: no default URL, but the signing secret stays (tasks may still name their own URL).
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("updated_at", Timestamp, server_default=NOW, nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        # The delivery id: the idempotency id the receiver sees, the same on every attempt.
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("task_id", BigId, sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        # The task's JSON as it was when it finished: every attempt sends the same bytes.
        sa.Column("body", Bytes, nullable=False),
        # PENDING (due at next_attempt_at), DELIVERED, GAVE_UP.
        sa.Column("status", sa.String(length=16), server_default="PENDING", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", Timestamp, server_default=NOW, nullable=False),
        sa.Column("created_at", Timestamp, server_default=NOW, nullable=False),
        sa.Column("last_attempt_at", Timestamp, nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", Timestamp, nullable=True),
    )
    # The claim reads due deliveries in order of when they are due; only PENDING ones are indexed.
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["next_attempt_at"], postgresql_where=DUE, sqlite_where=DUE
    )
    op.create_index("ix_webhook_deliveries_task", "webhook_deliveries", ["task_id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_task", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries", postgresql_where=DUE, sqlite_where=DUE)
    op.drop_table("webhook_deliveries")
    op.drop_table("tenant_webhooks")
    # Not batch mode: rebuilding tasks on SQLite would cascade-delete its payloads (SQLite >= 3.35 drops a column).
    op.drop_column("tasks", "notification_url")
