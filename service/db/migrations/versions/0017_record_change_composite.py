"""record_change_batches: a batch's two sides in one array of a composite type, and 256 buckets (issue 15's cost bound)

A batch held its changes' sides in 13 arrays, one per column of RecordHistory (0016). Building and compressing 13
arrays per batch was much of what history costs a sync that changes every record: now one array of
`record_change` (the 13 columns as a composite type) is built and compressed once. The sync also groups smaller
slices of its diff, which it sorts within the processor's cache, into fewer buckets (256), so that a batch still
holds about as many changes (service.store.postgres_change_batches). For a sync changing 150k records, the
batches' statements took 0.41-0.64 s (median 0.50) instead of 0.56-0.90 s (median 0.65): six syncs of each
layout, the two alternating.

Existing batches are converted: their arrays become one, and a bucket of 1024 becomes the bucket of 256 that holds
it (the hash's low 8 bits of its low 10). The downgrade writes every batched change back as a row of
record_history with the same id (as 0016's does): the 0016 layout of 1024 buckets cannot hold a batch of 256.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)
# service.store.postgres_change_batches.BUCKETS as this revision set it (0016 had 1024).
BUCKETS = 256

# A change's two sides, as RecordHistory's columns of the same names (0016 kept an array of each).
_SIDES: dict[str, tuple[str, sa.types.TypeEngine]] = {
    "before_name": ("text", sa.Text()),
    "before_suggested_score": ("double precision", sa.Float()),
    "before_parent_id": ("text", sa.Text()),
    "before_parent_ids": ("jsonb", JSONB()),
    "before_data": ("jsonb", JSONB()),
    "before_op_ts": ("timestamp with time zone", Timestamp),
    "before_version": ("bigint", sa.BigInteger()),
    "before_updated_at": ("timestamp with time zone", Timestamp),
    "after_name": ("text", sa.Text()),
    "after_suggested_score": ("double precision", sa.Float()),
    "after_parent_id": ("text", sa.Text()),
    "after_parent_ids": ("jsonb", JSONB()),
    "after_data": ("jsonb", JSONB()),
}
_NAMES = ", ".join(_SIDES)
_LZ4 = """DO $$ BEGIN
    IF EXISTS (SELECT FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
        {}
    END IF;
END $$"""


def _sqlite_table(*sides: sa.Column) -> None:
    """SQLite keeps a row per change, so its table is always empty: made again, with `sides`."""
    op.drop_table("record_change_batches")
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
        sa.Column("record_ids", sa.JSON(), nullable=False),
        sa.Column("contexts", sa.JSON(), nullable=False),
        *sides,
    )
    op.create_index(
        "ix_record_change_batches_bucket", "record_change_batches", ["version_id", "kind", "bucket", "first_id"]
    )
    op.create_index("ix_record_change_batches_task", "record_change_batches", ["task_id", "first_id"])


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        _sqlite_table(sa.Column("changes", sa.JSON(), nullable=False))
        return
    fields = ", ".join(f"{name} {sql}" for name, (sql, _) in _SIDES.items())
    op.execute(f"CREATE TYPE record_change AS ({fields})")
    op.execute("ALTER TABLE record_change_batches ADD COLUMN changes record_change[]")
    op.execute(_LZ4.format("ALTER TABLE record_change_batches ALTER COLUMN changes SET COMPRESSION lz4;"))
    op.execute(f"""UPDATE record_change_batches b SET bucket = b.bucket & {BUCKETS - 1}, changes = ARRAY(
            SELECT ROW({", ".join(f"u.{name}" for name in _SIDES)})::record_change
            FROM unnest({", ".join(f"b.{name}" for name in _SIDES)}) WITH ORDINALITY AS u({_NAMES}, i)
            ORDER BY u.i)""")
    op.execute("ALTER TABLE record_change_batches ALTER COLUMN changes SET NOT NULL")
    for name in _SIDES:
        op.drop_column("record_change_batches", name)


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        _sqlite_table(*(sa.Column(name, sa.JSON(), nullable=False) for name in _SIDES))
        return
    op.execute(f"""INSERT INTO record_history (id, version_id, kind, record_id, context, operation, task_id, task_type,
            request_id, changed_at, {_NAMES})
        SELECT b.first_id + u.i - 1, b.version_id, b.kind, u.record_id, u.context, b.operation, b.task_id, b.task_type,
               b.request_id, b.changed_at, {", ".join(f"u.{name}" for name in _SIDES)}
        FROM record_change_batches b
        -- beside other arrays, the composite's fields are columns of their own
        CROSS JOIN LATERAL unnest(b.record_ids, b.contexts, b.changes) WITH ORDINALITY
            AS u(record_id, context, {_NAMES}, i)""")
    op.execute("DELETE FROM record_change_batches")
    for name, (_, item) in _SIDES.items():
        op.add_column("record_change_batches", sa.Column(name, ARRAY(item), nullable=False))
    op.execute(
        _LZ4.format(
            " ".join(f"ALTER TABLE record_change_batches ALTER COLUMN {c} SET COMPRESSION lz4;" for c in _SIDES)
        )
    )
    op.drop_column("record_change_batches", "changes")
    op.execute("DROP TYPE record_change")
