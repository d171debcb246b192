"""record versions: every record carries a version that grows by one with each change (issue 15)

Existing records start at version 1, as new ones do (the column's default); the write statements of
service.store add one when they change a record.

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A constant default: PostgreSQL 11+ adds it without rewriting the table; SQLite's ADD COLUMN likewise.
    op.add_column("records", sa.Column("version", sa.BigInteger(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.drop_column("version")
