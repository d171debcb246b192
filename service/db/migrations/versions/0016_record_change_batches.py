"""record_change_batches: the full sync's updates recorded a row per task and bucket (issue 15's cost bound)

One history row per changed record (record_history) made a sync that changes every record cost 1.3-1.45x the
same sync with history off: a heap row and three index entries per change. The PostgreSQL full sync now
writes its UPDATE changes as arrays, one row per bucket of record ids (service.store.postgres_change_batches); every
other write keeps its row per change. The arrays are compressed with lz4 where the server has it (values repeat
within an array): a quarter of the WAL of uncompressed arrays at the same cost to the sync, where pglz (the
default) made a sync changing every record 1.35x instead of 1.24x.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)
# service.store.postgres_change_batches.ID_STRIDE as this revision set it.
ID_STRIDE = 1 << 20


def _array(item: sa.types.TypeEngine) -> sa.types.TypeEngine:
    return sa.JSON().with_variant(ARRAY(item), "postgresql")


_ARRAYS: dict[str, sa.types.TypeEngine] = {
    "record_ids": sa.Text(),
    "contexts": sa.Text(),
    "before_name": sa.Text(),
    "before_suggested_score": sa.Float(),
    "before_parent_id": sa.Text(),
    "before_parent_ids": JSONB(),
    "before_data": JSONB(),
    "before_op_ts": Timestamp,
    "before_version": sa.BigInteger(),
    "before_updated_at": Timestamp,
    "after_name": sa.Text(),
    "after_suggested_score": sa.Float(),
    "after_parent_id": sa.Text(),
    "after_parent_ids": JSONB(),
    "after_data": JSONB(),
}

# The record's values before and after each change, as RecordHistory's columns of the same names.
_SIDES = [name for name in _ARRAYS if name.startswith(("before_", "after_"))]


def upgrade() -> None:
    op.create_table(
        "record_change_batches",
        sa.Column("first_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("operation", sa.String(length=8), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=False),
        sa.Column("task_type", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("changed_at", Timestamp, nullable=False),
        *(sa.Column(name, _array(item), nullable=False) for name, item in _ARRAYS.items()),
    )
    op.create_index(
        "ix_record_change_batches_bucket", "record_change_batches", ["version_id", "kind", "bucket", "first_id"]
    )
    op.create_index("ix_record_change_batches_task", "record_change_batches", ["task_id", "first_id"])
    if op.get_context().dialect.name == "postgresql":
        # Decided where the statements run (also in the SQL `catalog-ingest migrate --sql` prints for a DBA).
        lz4 = " ".join(f"ALTER TABLE record_change_batches ALTER COLUMN {c} SET COMPRESSION lz4;" for c in _ARRAYS)
        op.execute(f"""DO $$ BEGIN
            IF EXISTS (SELECT FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
                {lz4}
            END IF;
        END $$""")
        # A batch takes one id and numbers its changes from it (service.store.postgres_change_batches.ID_STRIDE).
        op.execute(f"ALTER SEQUENCE record_history_id_seq INCREMENT BY {ID_STRIDE}")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":  # the batched changes go back to a row each
        arrays = ", ".join(f"b.{name}" for name in _ARRAYS)
        op.execute(f"""INSERT INTO record_history (id, version_id, kind, record_id, context, operation, task_id,
                task_type, request_id, changed_at, {", ".join(_SIDES)})
            SELECT b.first_id + u.i - 1, b.version_id, b.kind, u.record_ids, u.contexts, b.operation, b.task_id,
                   b.task_type, b.request_id, b.changed_at, {", ".join(f"u.{name}" for name in _SIDES)}
            FROM record_change_batches b
            CROSS JOIN LATERAL unnest({arrays}) WITH ORDINALITY AS u({", ".join(_ARRAYS)}, i)""")
        op.execute("ALTER SEQUENCE record_history_id_seq INCREMENT BY 1")
    op.drop_table("record_change_batches")
