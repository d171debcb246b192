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
    text,
)
from sqlalchemy.dialects.postgresql import BYTEA, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
Json = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY, so 64-bit ids are INTEGER there.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Bytes = LargeBinary().with_variant(BYTEA(), "postgresql")
Timestamp = DateTime(timezone=True)


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
    # When the operation that last wrote the record happened; older operations are ignored.
    op_ts: Mapped[dt.datetime] = mapped_column(Timestamp)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"))


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
