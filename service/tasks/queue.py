"""The task queue in SQL: enqueue, claim (FIFO per catalog), heartbeat, finish, release, cancel.

PostgreSQL is the queue for any number of server and worker processes: claims use
FOR UPDATE SKIP LOCKED and enqueues NOTIFY the workers. SQLite serves one process.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.db.models import Task, TaskPayload, Worker
from service.errors import FailedPrecondition, NotFound
from service.timeutil import utcnow

NOTIFY_CHANNEL = "catalog_ingest_tasks"
UNFINISHED = ("QUEUED", "IN_PROGRESS")
FINISHED = ("DONE", "FAILED", "CANCELED")


@dataclass(frozen=True)
class ClaimedTask:
    id: int
    tenant_id: int
    catalog_id: int
    type: str
    params: dict[str, Any]
    attempts: int
    notification_email: str | None


async def enqueue(
    session: AsyncSession,
    *,
    tenant_id: int,
    catalog_id: int,
    task_type: str,
    params: dict[str, Any],
    payload: Iterable[tuple[str, bytes]] = (),
    submitted_by: int | None = None,
    notification_email: str | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
    commit: bool = True,
) -> Task:
    """Store the task and its whole payload, then commit: only then may its id be returned.

    With commit=False the caller adds the rest of the payload (add_payload_part) and commits; the
    task is invisible, so not claimable, until then, and the NOTIFY issued here is delivered at that
    commit. An idempotency key already held by another task raises IntegrityError at the flush.
    """
    now = utcnow()
    task = Task(
        tenant_id=tenant_id,
        catalog_id=catalog_id,
        type=task_type,
        status="QUEUED",
        params=params,
        submitted_by=submitted_by,
        notification_email=notification_email or None,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        submission_time=now,
        last_update=now,
    )
    session.add(task)
    await session.flush()
    rows = [{"task_id": task.id, "seq": seq, "part": part, "body": body} for seq, (part, body) in enumerate(payload)]
    if rows:
        await session.execute(TaskPayload.__table__.insert(), rows)
    await notify(session)
    if commit:
        await session.commit()
    return task


def status_path(task_id: int) -> str:
    """Where the documented Tasks API shows a task (the `task_status_path` of write responses)."""
    return f"/v1/task/{task_id}"


async def notify(session: AsyncSession | AsyncConnection) -> None:
    """Wake listening workers when the surrounding transaction commits."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))


async def add_payload_part(session: AsyncSession, task_id: int, seq: int, part: str, body: bytes) -> None:
    await session.execute(
        TaskPayload.__table__.insert(), [{"task_id": task_id, "seq": seq, "part": part, "body": body}]
    )


async def payload_parts(
    conn: AsyncConnection, task_id: int, part: str | None = None
) -> AsyncIterator[tuple[str, bytes]]:
    """The payload (or one named part of it) in submission order, a few chunks at a time, so memory
    stays bounded whatever the payload's size."""
    last = -1
    while True:
        query = (
            select(TaskPayload.seq, TaskPayload.part, TaskPayload.body)
            .where(TaskPayload.task_id == task_id, TaskPayload.seq > last)
            .order_by(TaskPayload.seq)
            .limit(4)
        )
        if part is not None:
            query = query.where(TaskPayload.part == part)
        rows = (await conn.execute(query)).all()
        if not rows:
            return
        for seq, part, body in rows:
            last = seq
            yield part, bytes(body)


_CLAIM = """
UPDATE tasks SET status = 'IN_PROGRESS', worker_id = :worker, attempts = attempts + 1
WHERE id = (
    SELECT t.id FROM tasks t
    WHERE t.status IN ('QUEUED', 'IN_PROGRESS')
      AND (t.status = 'QUEUED' OR NOT EXISTS (
            SELECT 1 FROM workers w WHERE w.id = t.worker_id AND w.heartbeat_at > :stale_before))
      AND NOT EXISTS (
            SELECT 1 FROM tasks p
            WHERE p.catalog_id = t.catalog_id AND p.id <> t.id AND (
                (p.id < t.id AND p.status IN ('QUEUED', 'IN_PROGRESS'))
                -- A task becomes visible at its commit, which for a stream can be after later tasks of its
                -- catalog started: a running task blocks the catalog whatever its id, while its worker lives.
                OR (p.status = 'IN_PROGRESS' AND EXISTS (
                    SELECT 1 FROM workers w WHERE w.id = p.worker_id AND w.heartbeat_at > :stale_before))))
    ORDER BY t.id
    LIMIT 1
    {lock}
)
RETURNING id, tenant_id, catalog_id, type, params, attempts, notification_email
"""
# A claimed task's row stays unlocked while it runs (progress is written to it); a task whose
# worker's heartbeat is older than the lease belongs to a dead worker and is claimed again.
CLAIM_SQL = {
    "postgresql": text(_CLAIM.format(lock="FOR UPDATE SKIP LOCKED")),
    "sqlite": text(_CLAIM.format(lock="")),
}


async def claim(conn: AsyncConnection, worker_id: str, lease_timeout: float) -> ClaimedTask | None:
    """Take the oldest runnable task: the first unfinished task of its catalog, not held by a live worker."""
    now = utcnow()
    row = (
        await conn.execute(
            CLAIM_SQL[conn.dialect.name],
            {"worker": worker_id, "now": now, "stale_before": now - dt.timedelta(seconds=lease_timeout)},
        )
    ).first()
    if row is not None:
        # Taken after the claim saw the previous task's commit, so that a task never seems to start before
        # the one it waited for finished (`now` above can be older than that commit).
        started = utcnow()
        await conn.execute(
            update(Task)
            .where(Task.id == row.id)
            .values(start_time=func.coalesce(Task.start_time, started), last_update=started)
        )
    await conn.commit()
    if row is None:
        return None
    params = row.params if isinstance(row.params, dict) else json.loads(row.params)
    return ClaimedTask(
        id=row.id,
        tenant_id=row.tenant_id,
        catalog_id=row.catalog_id,
        type=row.type,
        params=params,
        attempts=row.attempts,
        notification_email=row.notification_email,
    )


async def register_worker(conn: AsyncConnection, worker_id: str, hostname: str, pid: int) -> None:
    now = utcnow()
    await conn.execute(
        Worker.__table__.insert().values(id=worker_id, hostname=hostname, pid=pid, started_at=now, heartbeat_at=now)
    )
    await conn.commit()


async def heartbeat(conn: AsyncConnection, worker_id: str) -> None:
    await conn.execute(update(Worker).where(Worker.id == worker_id).values(heartbeat_at=utcnow()))
    await conn.commit()


async def unregister_worker(conn: AsyncConnection, worker_id: str) -> int:
    """Hand the worker's unfinished tasks back to the queue and forget the worker."""
    released = await conn.execute(
        update(Task)
        .where(Task.worker_id == worker_id, Task.status == "IN_PROGRESS")
        .values(status="QUEUED", worker_id=None, last_update=utcnow())
    )
    await conn.execute(delete(Worker).where(Worker.id == worker_id))
    await conn.commit()
    return released.rowcount or 0


async def live_workers(conn: AsyncConnection | AsyncSession, lease_timeout: float) -> int:
    stale_before = utcnow() - dt.timedelta(seconds=lease_timeout)
    return (
        await conn.execute(select(func.count()).select_from(Worker).where(Worker.heartbeat_at > stale_before))
    ).scalar_one()


async def finish(
    conn: AsyncConnection,
    task_id: int,
    worker_id: str,
    status: str,
    *,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    records_seen: int | None = None,
    records_applied: int | None = None,
) -> bool:
    """Mark the task finished if this worker still holds it; False means another worker took it over."""
    now = utcnow()
    values: dict[str, Any] = {
        "status": status,
        "finish_time": now,
        "last_update": now,
        "result": result,
        "error": error,
    }
    if records_seen is not None:
        values["records_seen"] = records_seen
    if records_applied is not None:
        values["records_applied"] = records_applied
    done = await conn.execute(
        update(Task)
        .where(Task.id == task_id, Task.worker_id == worker_id, Task.status == "IN_PROGRESS")
        .values(**values)
    )
    return (done.rowcount or 0) == 1


async def report_progress(conn: AsyncConnection, task_id: int, worker_id: str, seen: int, applied: int) -> None:
    await conn.execute(
        update(Task)
        .where(Task.id == task_id, Task.worker_id == worker_id, Task.status == "IN_PROGRESS")
        .values(records_seen=seen, records_applied=applied, last_update=utcnow())
    )
    await conn.commit()


# Called in the transaction that cancels a task: what the task's own resources must show about it.
OnCanceled = Callable[[AsyncConnection, ClaimedTask], Awaitable[None]]


async def cancel(session: AsyncSession, tenant_id: int, task_id: int, on_canceled: OnCanceled | None = None) -> Task:
    now = utcnow()
    changed = await session.execute(
        update(Task)
        .where(Task.id == task_id, Task.tenant_id == tenant_id, Task.status == "QUEUED")
        .values(status="CANCELED", finish_time=now, last_update=now)
        .returning(*(getattr(Task, f.name) for f in dataclasses.fields(ClaimedTask)))
    )
    canceled = changed.first()
    if canceled is not None and on_canceled is not None:
        await on_canceled(await session.connection(), ClaimedTask(*canceled))
    await session.commit()
    task = await get_task(session, tenant_id, task_id)
    if canceled is None:
        raise FailedPrecondition(
            f"task {task_id} is {task.status}; only a QUEUED task can be canceled",
            reason="TASK_NOT_CANCELABLE",
            metadata={"status": task.status},
        )
    return task


async def get_task(session: AsyncSession, tenant_id: int, task_id: int) -> Task:
    """Another tenant's task is NOT_FOUND, exactly like a task that does not exist."""
    task = (
        await session.execute(
            select(Task)
            .where(Task.id == task_id, Task.tenant_id == tenant_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if task is None:
        raise NotFound(f"task {task_id} not found", reason="TASK_NOT_FOUND")
    return task
