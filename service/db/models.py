"""The tables. Every row belongs to exactly one tenant, directly or through its catalog."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA, JSONB
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
Json = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY, so 64-bit ids are INTEGER there.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Bytes = LargeBinary().with_variant(BYTEA(), "postgresql")
Timestamp = DateTime(timezone=True)


class RecordChange(UserDefinedType[Any]):
    """PostgreSQL's composite type record_change (migration 0017): RecordHistory's before_* and after_* columns,
    a batched change's two sides. Written and read in SQL only (service.store.postgres_change_batches)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "record_change"


# Reflected as itself (the migration test compares the migrated tables with these models).
ischema_names["record_change"] = RecordChange


def Array(item: Any) -> Any:
    """An array of `item` on PostgreSQL; JSON text on SQLite (which has no arrays)."""
    return JSON().with_variant(ARRAY(item), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: Json}


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"))


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    # sha256 of the secret: a leaked database does not leak usable tokens.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"))
    # NULL: never expires / not revoked. A token past either answers UNAUTHENTICATED.
    expires_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)
    # Written when the token is looked up (a cache miss), so at most once per cache lifetime per process.
    last_used_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)


class Catalog(Base):
    __tablename__ = "catalogs"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    # Field definitions records are validated against: [{"name", "type", "required", ...}].
    field_schema: Mapped[Any | None] = mapped_column(Json, nullable=True)
    active_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"))


class CatalogVersion(Base):
    __tablename__ = "catalog_versions"
    __table_args__ = (UniqueConstraint("catalog_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    catalog_id: Mapped[int] = mapped_column(ForeignKey("catalogs.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"))
    activated_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)


class BulkRateLimit(Base):
    """The bulk per-item API's sliding log, one row per catalog: locking the row serializes the check."""

    __tablename__ = "bulk_rate_limits"
    catalog_id: Mapped[int] = mapped_column(ForeignKey("catalogs.id", ondelete="CASCADE"), primary_key=True)
    # UNIX seconds of the accepted requests still inside the window, oldest first (older ones are dropped).
    request_times: Mapped[Any] = mapped_column(Json)


class Record(Base):
    __tablename__ = "records"
    __table_args__ = (
        # Deleting an item finds its variations by this (the cascade of service.store.links).
        Index(
            "ix_records_variation_parent",
            "version_id",
            "parent_id",
            "context",
            postgresql_where=text("kind = 2"),
            sqlite_where=text("kind = 2"),
        ),
    )
    version_id: Mapped[int] = mapped_column(ForeignKey("catalog_versions.id", ondelete="CASCADE"), primary_key=True)
    # 1 item, 2 variation, 3 item group: the RecordKind numbers of the protos.
    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    record_id: Mapped[str] = mapped_column(Text, primary_key=True)
    context: Mapped[str] = mapped_column(Text, primary_key=True, server_default="")
    name: Mapped[str | None] = mapped_column(Text, nullable=True)
    suggested_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    # A variation's item, a batch variant's parent.
    parent_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    # An item group's parents.
    parent_ids: Mapped[Any | None] = mapped_column(Json, nullable=True)
    data: Mapped[Any] = mapped_column(Json)
    # Batch ingestions delete the missing items of one source only.
    source: Mapped[str] = mapped_column(Text, server_default="")
    # The batch item's `type` of a record a batch ingestion wrote (NULL for the other APIs).
    item_type: Mapped[str | None] = mapped_column(Text, nullable=True)
    # When the operation that last wrote the record happened; older operations are ignored. A full sync of
    # the kind since the record was created makes it at least that sync's time (RecordSyncMark).
    op_ts: Mapped[dt.datetime] = mapped_column(Timestamp)
    # When a write last changed the record (its `update_time`); a write that changes nothing leaves it.
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"))
    # The sync generation (RecordSyncMark.gen) the record was created under; NULL is 0.
    sync_gen: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # 1 when created, +1 by every write that changes the record (a no-op write leaves it): what
    # `expected_version` and If-Match compare with. A deleted and re-created record starts again at 1.
    version: Mapped[int] = mapped_column(BigInteger, server_default="1")


class RecordSyncMark(Base):
    """The last full sync of one kind of a catalog version: it covers every record created before it (a
    lower `sync_gen`), whose effective op_ts is at least `synced_at` (service.store.sync_marks). So a full
    sync writes only the records it changes."""

    __tablename__ = "record_sync_marks"
    version_id: Mapped[int] = mapped_column(ForeignKey("catalog_versions.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    gen: Mapped[int] = mapped_column(Integer)
    synced_at: Mapped[dt.datetime] = mapped_column(Timestamp)


class Worker(Base):
    __tablename__ = "workers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"))
    heartbeat_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"), index=True)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        # The claim query's FIFO check looks for earlier unfinished tasks of the same catalog, in queue order.
        Index(
            "ix_tasks_unfinished",
            "catalog_id",
            "queue_seq",
            postgresql_where=text("status IN ('QUEUED', 'IN_PROGRESS')"),
            sqlite_where=text("status IN ('QUEUED', 'IN_PROGRESS')"),
        ),
        Index(
            "ix_tasks_queued",
            "queue_seq",
            postgresql_where=text("status IN ('QUEUED', 'IN_PROGRESS')"),
            sqlite_where=text("status IN ('QUEUED', 'IN_PROGRESS')"),
        ),
        # The claim's check that no task of a catalog runs (service/tasks/queue_postgres.py).
        Index(
            "ix_tasks_running",
            "catalog_id",
            postgresql_where=text("status = 'IN_PROGRESS'"),
            sqlite_where=text("status = 'IN_PROGRESS'"),
        ),
        Index("ix_tasks_queue_seq", "queue_seq"),
        # Leftovers of broken uploads, deleted by the workers after a timeout.
        Index(
            "ix_tasks_pending",
            "last_update",
            postgresql_where=text("status = 'PENDING'"),
            sqlite_where=text("status = 'PENDING'"),
        ),
        Index("ix_tasks_tenant", "tenant_id", "id"),
        Index("ix_tasks_idempotency", "tenant_id", "idempotency_key", unique=True),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    catalog_id: Mapped[int] = mapped_column(ForeignKey("catalogs.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    # service.tasks.status.TaskStatus; a CHECK (PostgreSQL) or triggers (SQLite) keep it to those values.
    status: Mapped[str] = mapped_column(String(16), server_default="QUEUED")
    # The task's place in the queue, given by the commit that makes it QUEUED (NULL while PENDING).
    queue_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    submitted_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    params: Mapped[Any] = mapped_column(Json)
    submission_time: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"))
    start_time: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)
    finish_time: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)
    last_update: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"))
    worker_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    records_seen: Mapped[int] = mapped_column(BigInteger, server_default="0")
    records_applied: Mapped[int] = mapped_column(BigInteger, server_default="0")
    result: Mapped[Any | None] = mapped_column(Json, nullable=True)
    error: Mapped[Any | None] = mapped_column(Json, nullable=True)
    notification_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    # Receives the task's JSON when it finishes (service.webhooks); NULL: the tenant's default, if any.
    notification_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The request that submitted the task, so that the worker's log lines and trace span join it.
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    traceparent: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # A task submitted by RetryTask: the task it retries (no foreign key: the original may be purged first).
    retry_of: Mapped[int | None] = mapped_column(BigId, nullable=True)


class IdempotentResponse(Base):
    """The answer of a write that makes no task (batch item calls, version activation), kept under its
    `idempotency-key` for the idempotency window: a retry of the same request gets it again."""

    __tablename__ = "idempotent_responses"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    # The serialized response message.
    response: Mapped[bytes] = mapped_column(Bytes)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"))


class TaskPayload(Base):
    """A task's input, stored in chunks before its id is returned."""

    __tablename__ = "task_payloads"
    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What the chunk holds, e.g. "request" or "items.csv".
    part: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(Bytes)


class TaskErrorRow(Base):
    """One error a task reported (service.domain.task_errors), written in the transaction that finishes it; a task
    without errors writes none."""

    __tablename__ = "task_errors"
    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    # The error's place in the report (0-based), the order of the payload: the page token's cursor.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    reason: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    file: Mapped[str] = mapped_column(String(64), server_default="")
    row: Mapped[int] = mapped_column(BigInteger, server_default="0")
    column: Mapped[str] = mapped_column(Text, server_default="")
    record_id: Mapped[str] = mapped_column(Text, server_default="")
    # The record as it was sent, as JSON text (a CSV row as a header -> cell object); NULL when unknown.
    record: Mapped[str | None] = mapped_column(Text, nullable=True)


class Batch(Base):
    __tablename__ = "batches"
    __table_args__ = (Index("ix_batches_catalog_name", "catalog_id", "name", unique=True),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    catalog_id: Mapped[int] = mapped_column(ForeignKey("catalogs.id", ondelete="CASCADE"), index=True)
    # The id callers use, unique per catalog: a catalog version's batch is named after the version ("2").
    name: Mapped[str] = mapped_column(String(64), server_default="")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"))
    expires_at: Mapped[dt.datetime] = mapped_column(Timestamp, index=True)


class BatchItem(Base):
    __tablename__ = "batch_items"
    # Ingestions match batch items to records by id and context, whatever the item's type.
    __table_args__ = (Index("ix_batch_items_item", "batch_id", "item_id", "context"),)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True)
    item_type: Mapped[str] = mapped_column(Text, primary_key=True)
    item_id: Mapped[str] = mapped_column(Text, primary_key=True)
    context: Mapped[str] = mapped_column(Text, primary_key=True, server_default="")
    parent_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    attributes: Mapped[Any | None] = mapped_column(Json, nullable=True)
    deleted: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Only modifications were received: an ingestion merges it into the version's existing record.
    partial: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    op_ts: Mapped[dt.datetime] = mapped_column(Timestamp)


class Ingestion(Base):
    __tablename__ = "ingestions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    catalog_id: Mapped[int] = mapped_column(ForeignKey("catalogs.id", ondelete="CASCADE"), index=True)
    batch_id: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    configuration: Mapped[Any] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(16), server_default="RUNNING")
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    summary: Mapped[Any | None] = mapped_column(Json, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"), index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"))


class RecordHistory(Base):
    """One applied change of a record: written by triggers on `records` while a task declares itself in
    RecordHistoryWriter (migrations 0011, 0015; service.store.record_history), or by the PostgreSQL sync's own
    statements (service.store.postgres_history)."""

    __tablename__ = "record_history"
    __table_args__ = (
        Index("ix_record_history_record", "version_id", "kind", "record_id", "context", "id"),
        Index("ix_record_history_task", "task_id", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # No foreign keys (a key check per row would cost a large sync more than the row): a deleted version's
    # changes go with the retention purge.
    version_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[int] = mapped_column(SmallInteger)
    record_id: Mapped[str] = mapped_column(Text)
    context: Mapped[str] = mapped_column(Text)
    # CREATE, UPDATE, DELETE.
    operation: Mapped[str] = mapped_column(String(8))
    # A change outlives its task.
    task_id: Mapped[int] = mapped_column(BigInteger)
    task_type: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    changed_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    # The record before an UPDATE or a DELETE (what as_of restores), as its own columns (migration 0015).
    before_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    before_suggested_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    before_parent_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    before_parent_ids: Mapped[Any | None] = mapped_column(Json, nullable=True)
    before_data: Mapped[Any | None] = mapped_column(Json, nullable=True)
    before_op_ts: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)
    before_version: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    before_updated_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)
    # The record after an UPDATE (what the changed fields are compared with).
    after_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    after_suggested_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    after_parent_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    after_parent_ids: Mapped[Any | None] = mapped_column(Json, nullable=True)
    after_data: Mapped[Any | None] = mapped_column(Json, nullable=True)


class RecordChangeBatch(Base):
    """The changes one statement of the PostgreSQL full sync made to the records of one bucket (a hash of the
    record id): a row of arrays, the i-th element of each the i-th change, with the columns of RecordHistory
    (service.store.postgres_change_batches, migrations 0016 and 0017). A row per bucket instead of one per change
    is what keeps a sync that changes every record within issue 15's cost bound. SQLite never writes it."""

    __tablename__ = "record_change_batches"
    __table_args__ = (
        Index("ix_record_change_batches_bucket", "version_id", "kind", "bucket", "first_id"),
        Index("ix_record_change_batches_task", "task_id", "first_id"),
    )
    # Its first change's id, from RecordHistory's sequence (which steps by postgres_change_batches.ID_STRIDE
    # on PostgreSQL); the i-th change's is first_id + i - 1. The key, and what pages and purges go by.
    first_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    version_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[int] = mapped_column(SmallInteger)
    bucket: Mapped[int] = mapped_column(Integer)
    operation: Mapped[str] = mapped_column(String(8))
    task_id: Mapped[int] = mapped_column(BigInteger)
    task_type: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    changed_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    record_ids: Mapped[list[str]] = mapped_column(Array(Text))
    contexts: Mapped[list[str]] = mapped_column(Array(Text))
    # The changes' sides: RecordHistory's before_* and after_* columns, as the composite type record_change.
    changes: Mapped[list[Any]] = mapped_column(Array(RecordChange()))


class RecordHistoryWriter(Base):
    """The task whose transaction writes records now (inserted and deleted in that transaction)."""

    __tablename__ = "record_history_writers"
    task_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    task_type: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # True while the store writes this transaction's history from its own statements (the triggers stand aside).
    store_writes: Mapped[bool] = mapped_column(Boolean, server_default=false())
