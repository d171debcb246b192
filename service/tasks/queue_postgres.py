"""The task queue on PostgreSQL: any number of server and worker processes share it.

Claims take FOR UPDATE SKIP LOCKED, so concurrent workers never wait for each other's claim; an
enqueue NOTIFYs the workers at its commit; the queue order is a sequence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from sqlalchemy import BigInteger, TextClause, literal_column, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from service.db import clock
from service.tasks import queue_listen
from service.tasks.queue_common import SqlQueueStore

NOTIFY_CHANNEL = "catalog_ingest_tasks"

# Take the first runnable task in queue order: the first unfinished task of its catalog (its head), not held by a
# live worker. Only heads are read, so a claim costs a few index lookups per catalog with unfinished tasks,
# however many tasks wait behind them: `cats` walks the distinct catalogs of ix_tasks_unfinished one lookup at a
# time (a loose index scan), `heads` takes each one's first task from the same index, and a catalog with a task
# running under a live worker is left out by ix_tasks_running. A claimed task's row stays unlocked while it runs
# (progress is written to it); a task whose worker's heartbeat is older than the lease (by the database clock)
# belongs to a dead worker and is claimed again (never by the worker that holds it: a late heartbeat of its own
# is no reason to run its task twice). The start time is the claim statement's: it saw the previous task's
# commit, so it is never earlier. The statuses are literals (Transition.CLAIM: QUEUED or IN_PROGRESS ->
# IN_PROGRESS) so that the planner matches the partial indexes ix_tasks_unfinished / ix_tasks_running.
CLAIM = text(
    """
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
    start_time = coalesce(start_time, statement_timestamp()), last_update = statement_timestamp()
WHERE id = (
    SELECT t.id FROM heads JOIN tasks t ON t.id = heads.id
    WHERE t.status IN ('QUEUED', 'IN_PROGRESS')
      AND (t.status = 'QUEUED' OR (t.worker_id <> :worker AND NOT EXISTS (
            SELECT 1 FROM workers w
            WHERE w.id = t.worker_id AND w.heartbeat_at > statement_timestamp() - make_interval(secs => :lease))))
      -- A task takes its place in the queue at its commit, which can come after a later place's task started:
      -- a running task blocks the catalog whatever its place, while its worker lives.
      AND NOT EXISTS (
            SELECT 1 FROM tasks p
            WHERE p.catalog_id = t.catalog_id AND p.status = 'IN_PROGRESS' AND p.id <> t.id
              AND EXISTS (
                SELECT 1 FROM workers w
                WHERE w.id = p.worker_id AND w.heartbeat_at > statement_timestamp() - make_interval(secs => :lease)))
    ORDER BY t.queue_seq
    LIMIT 1
    FOR UPDATE OF t SKIP LOCKED
)
RETURNING id, tenant_id, catalog_id, type, params, attempts, notification_email
"""
)

NEXT_PLACE = "nextval('tasks_queue_seq')"

# UNIX seconds by the database clock: servers on several hosts share one clock.
EPOCH_NOW = text("SELECT extract(epoch FROM clock_timestamp())")

# A batch an ingestion reads, share-locked so that a purge waits for the task.
HOLD_LIVE_BATCH = text("SELECT id FROM batches WHERE id = :id AND expires_at > :now FOR SHARE")


class PostgresQueueStore(SqlQueueStore):
    concurrent: ClassVar[bool] = True
    notifies: ClassVar[bool] = True
    clock = clock.POSTGRES
    claim_statement: ClassVar[TextClause] = CLAIM

    def next_place(self) -> ColumnElement:
        return literal_column(NEXT_PLACE, BigInteger())

    async def notify(self, conn: AsyncSession | AsyncConnection) -> None:
        await conn.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))

    async def listen(self, database_url: str, wake: Callable[[], None], stop: asyncio.Event, check: float) -> None:
        await queue_listen.listen(database_url, NOTIFY_CHANNEL, wake, stop, check)

    async def epoch_now(self, session: AsyncSession) -> float:
        return float((await session.execute(EPOCH_NOW)).scalar_one())

    async def hold_live_batch(self, conn: AsyncConnection, batch_pk: str, now: datetime) -> bool:
        return (await conn.execute(HOLD_LIVE_BATCH, {"id": batch_pk, "now": now})).first() is not None
