"""The task queue on SQLite: one process, one writer.

SQLite has one write lock, so a claim needs no row locks and the next place in the queue is max + 1; it has
no NOTIFY (workers poll), and a task's transaction takes the write lock before it reads anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import BigInteger, TextClause, literal_column, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from service.db import clock
from service.db.models import Task
from service.tasks.queue_common import SqlQueueStore

# service.db.clock.SQLITE with the lease as a parameter.
_STALE_BEFORE = "(strftime('%Y-%m-%d %H:%M:%f', 'now', printf('-%.6f seconds', :lease)) || '000')"
_NOW = "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')"

# The claim of queue_postgres.CLAIM without row locks (the statement holds SQLite's one write lock): the same
# walk over the catalogs' heads, each lookup repeating the partial indexes' `status IN (...)` (SQLite uses a
# partial index only for a WHERE that contains its predicate).
CLAIM = text(
    f"""
WITH RECURSIVE cats(catalog_id) AS (
    SELECT min(catalog_id) FROM tasks WHERE status IN ('QUEUED', 'IN_PROGRESS')
    UNION ALL
    SELECT (SELECT min(n.catalog_id) FROM tasks n
            WHERE n.status IN ('QUEUED', 'IN_PROGRESS') AND n.catalog_id > cats.catalog_id)
    FROM cats WHERE cats.catalog_id IS NOT NULL
), heads AS (
    SELECT (SELECT h.id FROM tasks h
            WHERE h.catalog_id = cats.catalog_id AND h.status IN ('QUEUED', 'IN_PROGRESS')
            ORDER BY h.queue_seq LIMIT 1) AS id
    FROM cats WHERE cats.catalog_id IS NOT NULL
)
UPDATE tasks SET status = 'IN_PROGRESS', worker_id = :worker, attempts = attempts + 1,
    start_time = coalesce(start_time, {_NOW}), last_update = {_NOW}
WHERE id = (
    SELECT t.id FROM heads JOIN tasks t ON t.id = heads.id
    WHERE t.status IN ('QUEUED', 'IN_PROGRESS')
      AND (t.status = 'QUEUED' OR (t.worker_id <> :worker AND NOT EXISTS (
            SELECT 1 FROM workers w WHERE w.id = t.worker_id AND w.heartbeat_at > {_STALE_BEFORE})))
      AND NOT EXISTS (
            SELECT 1 FROM tasks p
            WHERE p.catalog_id = t.catalog_id AND p.status = 'IN_PROGRESS' AND p.id <> t.id
              AND EXISTS (SELECT 1 FROM workers w WHERE w.id = p.worker_id AND w.heartbeat_at > {_STALE_BEFORE}))
    ORDER BY t.queue_seq
    LIMIT 1
)
RETURNING id, tenant_id, catalog_id, type, params, attempts, notification_email
"""
)

# Under the one write lock, max + 1 is the next place (ix_tasks_queue_seq makes it a lookup).
NEXT_PLACE = "(SELECT coalesce(max(queue_seq), 0) + 1 FROM tasks)"

# UNIX seconds by the database clock (julianday counts days from noon, 24 November 4714 BC).
EPOCH_NOW = text("SELECT (julianday('now') - 2440587.5) * 86400.0")

# SQLite has no row locks: a purge waits for the task's write lock anyway.
HOLD_LIVE_BATCH = text("SELECT id FROM batches WHERE id = :id AND expires_at > :now")


class SqliteQueueStore(SqlQueueStore):
    concurrent: ClassVar[bool] = False
    notifies: ClassVar[bool] = False
    clock = clock.SQLITE
    claim_statement: ClassVar[TextClause] = CLAIM

    def next_place(self) -> ColumnElement:
        return literal_column(NEXT_PLACE, BigInteger())

    async def begin_task(self, conn: AsyncConnection, task_id: int) -> None:
        """BEGIN IMMEDIATE in effect: the task's transaction writes first, so it holds SQLite's one write lock
        from the start (waiting busy_timeout for it). A transaction that read first fails at once with
        "database is locked" if another connection committed meanwhile."""
        await conn.execute(update(Task).where(Task.id == task_id).values(last_update=self.clock.now()))

    async def epoch_now(self, session: AsyncSession) -> float:
        return float((await session.execute(EPOCH_NOW)).scalar_one())

    async def hold_live_batch(self, conn: AsyncConnection, batch_pk: str, now: datetime) -> bool:
        return (await conn.execute(HOLD_LIVE_BATCH, {"id": batch_pk, "now": now})).first() is not None
