"""variations found by their item: the cascade of an item delete (R2, issue 10)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Partial: only variations pay for it on write; deleting a few items finds their variations by index.
    op.create_index(
        "ix_records_variation_parent",
        "records",
        ["version_id", "parent_id", "context"],
        unique=False,
        postgresql_where=sa.text("kind = 2"),
        sqlite_where=sa.text("kind = 2"),
    )


def downgrade() -> None:
    op.drop_index("ix_records_variation_parent", table_name="records")
