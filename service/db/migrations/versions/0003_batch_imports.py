"""batch imports, ingestions and catalog versions (issue 6)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Plain ADD COLUMN / CREATE INDEX on both backends: no SQLite table rebuild, which would cascade-delete
# batch_items through the foreign key while `batches` is recreated.


def upgrade() -> None:
    op.add_column("batches", sa.Column("name", sa.String(length=64), server_default="", nullable=False))
    op.execute("UPDATE batches SET name = id")
    op.create_index("ix_batches_catalog_name", "batches", ["catalog_id", "name"], unique=True)
    op.add_column("batch_items", sa.Column("partial", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    # Ingestions match batch items to records by id and context, whatever the item's type.
    op.create_index("ix_batch_items_item", "batch_items", ["batch_id", "item_id", "context"], unique=False)
    op.add_column("records", sa.Column("item_type", sa.Text(), nullable=True))
    op.create_index("ix_ingestions_created_at", "ingestions", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ingestions_created_at", table_name="ingestions")
    with op.batch_alter_table("records") as batch:
        batch.drop_column("item_type")
    op.drop_index("ix_batch_items_item", table_name="batch_items")
    with op.batch_alter_table("batch_items") as batch:
        batch.drop_column("partial")
    op.drop_index("ix_batches_catalog_name", table_name="batches")
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("name")
