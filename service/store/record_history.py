"""Record history: the statements that declare a task as the writer of its transaction, read the history back
and purge it. Plain SQL that both backends run alike.

The history itself is written by triggers on `records` (migrations 0011, 0015): every statement of a write
path that creates, changes or deletes records writes the matching history rows in the same transaction,
set-based (PostgreSQL: one INSERT ... SELECT over the statement's transition tables; SQLite: row triggers),
and only while a writer is declared here. The PostgreSQL full sync writes its own from its statements
(service.store.postgres_history), the triggers standing aside meanwhile, and keeps its updates in batches
(service.store.postgres_change_batches), which the reads below take in (the backend's `change_batches`). So
every write path (CSV, /v2, gRPC, bulk, batch ingestions, the cascades of service.store.links) is covered
without a statement of its own, and what is not a task's record change (activating a version, deleting one,
purges) writes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.db import clock
from service.db.backend import backend_of
from service.db.models import RecordHistory, RecordHistoryWriter, Task
from service.store.history_expiry import expired

HISTORY_COLUMNS = (
    RecordHistory.id,
    RecordHistory.version_id,
    RecordHistory.kind,
    RecordHistory.record_id,
    RecordHistory.context,
    RecordHistory.operation,
    RecordHistory.task_id,
    RecordHistory.task_type,
    RecordHistory.request_id,
    RecordHistory.changed_at,
    RecordHistory.before_name,
    RecordHistory.before_suggested_score,
    RecordHistory.before_parent_id,
    RecordHistory.before_parent_ids,
    RecordHistory.before_data,
    RecordHistory.before_op_ts,
    RecordHistory.before_version,
    RecordHistory.before_updated_at,
    RecordHistory.after_name,
    RecordHistory.after_suggested_score,
    RecordHistory.after_parent_id,
    RecordHistory.after_parent_ids,
    RecordHistory.after_data,
)


async def begin_history(conn: AsyncConnection, task_id: int, task_type: str) -> None:
    """In a task's transaction, before it writes records: its record changes are recorded as this task's.
    The row is never committed (end_history deletes it), so no other transaction sees it."""
    request_id = (await conn.execute(select(Task.request_id).where(Task.id == task_id))).scalar_one_or_none()
    await conn.execute(delete(RecordHistoryWriter))
    await conn.execute(insert(RecordHistoryWriter).values(task_id=task_id, task_type=task_type, request_id=request_id))


async def end_history(conn: AsyncConnection) -> None:
    """In the same transaction, before it commits: later statements write no history."""
    await conn.execute(delete(RecordHistoryWriter))


async def record_changes(
    bind: AsyncSession | AsyncConnection,
    version_id: int,
    kind: int,
    record_id: str,
    context: str,
    limit: int,
    *,
    before_id: int | None = None,
    after_time: dt.datetime | None = None,
) -> list[Any]:
    """One record's changes, newest first: those older than the change `before_id`, or newer than `after_time`."""
    if batches := backend_of(bind).change_batches:
        return await batches.record_changes(
            bind, version_id, kind, record_id, context, limit, before_id=before_id, after_time=after_time
        )
    query = (
        select(*HISTORY_COLUMNS)
        .where(
            RecordHistory.version_id == version_id,
            RecordHistory.kind == kind,
            RecordHistory.record_id == record_id,
            RecordHistory.context == context,
        )
        .order_by(RecordHistory.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(RecordHistory.id < before_id)
    if after_time is not None:
        query = query.where(RecordHistory.changed_at > after_time.astimezone(dt.UTC))
    return list((await bind.execute(query)).all())


async def task_changes(
    bind: AsyncSession | AsyncConnection, task_id: int, limit: int, *, after_id: int | None = None
) -> list[Any]:
    """What one task changed, in the order it changed it, after the change `after_id`."""
    if batches := backend_of(bind).change_batches:
        return await batches.task_changes(bind, task_id, limit, after_id=after_id)
    query = select(*HISTORY_COLUMNS).where(RecordHistory.task_id == task_id).order_by(RecordHistory.id).limit(limit)
    if after_id is not None:
        query = query.where(RecordHistory.id > after_id)
    return list((await bind.execute(query)).all())


async def database_now(bind: AsyncSession | AsyncConnection) -> dt.datetime:
    """The database clock's time (aware, UTC)."""
    now = (await bind.execute(select(clock.of(bind).now()))).scalar_one()
    if isinstance(now, str):  # SQLite answers the text it stores
        now = dt.datetime.fromisoformat(now)
    return now if now.tzinfo else now.replace(tzinfo=dt.UTC)


async def purge_history(conn: AsyncConnection, retention_seconds: float) -> int:
    """Delete the changes older than the retention (by the database clock, bounded by id:
    service.store.history_expiry); the caller commits."""
    cutoff = clock.of(conn).ago(retention_seconds)
    result = await conn.execute(
        delete(RecordHistory).where(await expired(conn, RecordHistory.id, RecordHistory.changed_at, cutoff))
    )
    batches = backend_of(conn).change_batches
    return (result.rowcount or 0) + (await batches.purge(conn, cutoff) if batches else 0)


async def count_history(bind: AsyncSession | AsyncConnection) -> int:
    """How many changes are kept (tests and the benchmark)."""
    batches = backend_of(bind).change_batches
    count = batches.count_sql if batches else "SELECT count(*) FROM record_history"
    return (await bind.execute(text(count))).scalar_one()
