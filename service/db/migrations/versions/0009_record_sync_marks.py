"""sync marks: a full sync stops rewriting the records it leaves unchanged (issues 12 and 16)

`record_sync_marks` holds, per catalog version and record kind, the last full sync's time and a generation
number; `records.sync_gen` is the generation a record was created under. A record's effective op_ts (R3) is
the later of its own and the mark's when the mark's generation is newer than the record's (the record was
there when that sync ran): service.store.sync_marks.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Nullable without a default: instant on PostgreSQL whatever the table's size (NULL reads as 0).
    op.add_column("records", sa.Column("sync_gen", sa.Integer(), nullable=True))
    op.create_table(
        "record_sync_marks",
        sa.Column(
            "version_id", sa.Integer(), sa.ForeignKey("catalog_versions.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("kind", sa.SmallInteger(), primary_key=True),
        sa.Column("gen", sa.Integer(), nullable=False),
        sa.Column("synced_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("record_sync_marks")
    op.drop_column("records", "sync_gen")
