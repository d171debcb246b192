"""The task queue in SQL: enqueue, claim (FIFO per catalog), heartbeat, finish, release, cancel.

PostgreSQL is the queue for any number of server and worker processes: claims use
FOR UPDATE SKIP LOCKED and enqueues NOTIFY the workers. SQLite serves one process.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, TextClause, delete, func, insert, literal_column, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from service import log_context, retention
from service.db import clock
from service.db.models import Task, TaskPayload, Worker
from service.error_reasons import ErrorReason
from service.errors import Aborted, FailedPrecondition, NotFound, invalid_field
from service.tasks.status import TaskStatus
from service.tasks.trace_context import submitted_from
from service.webhooks import outbox
from service.webhooks.urls import check_url

NOTIFY_CHANNEL = "catalog_ingest_tasks"
UNFINISHED = ("QUEUED", "IN_PROGRESS")
FINISHED = ("DONE", "FAILED", "CANCELED")  # PENDING is neither: an upload still streaming, not a task yet
# RFC 5321: an address is at most 320 characters (the tasks.notification_email column).
MAX_EMAIL = 320


@dataclass(frozen=True)
class ClaimedTask:
    id: int
    tenant_id: int
    catalog_id: int
    type: str
    params: dict[str, Any]
    attempts: int
    notification_email: str | None


def _dialect(session: AsyncSession | AsyncConnection) -> str:
    if isinstance(session, AsyncConnection):
        return session.dialect.name
    return session.bind.dialect.name


def _next_place(dialect: str) -> ColumnElement:
    """The next place in the queue: a sequence on PostgreSQL, max + 1 under SQLite's one write lock."""
    if dialect == "postgresql":
        return literal_column("nextval('tasks_queue_seq')", BigInteger())
    return literal_column("(SELECT coalesce(max(queue_seq), 0) + 1 FROM tasks)", BigInteger())


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
    notification_url: str | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
    commit: bool = True,
    pending: bool = False,
) -> Task:
    """Store the task and its whole payload, then commit: only then may its id be returned.

    With commit=False the caller adds to the transaction and commits; the task is invisible, so
    not claimable, until then, and the NOTIFY issued here is delivered at that commit. With
    pending=True the task is PENDING (see open_pending). An idempotency key already held by
    another task raises IntegrityError.
    """
    if notification_email and len(notification_email) > MAX_EMAIL:
        # Checked here, for every path that submits a task: the column holds no more (PostgreSQL refuses it).
        raise invalid_field("notification_email", f"at most {MAX_EMAIL} characters (got {len(notification_email)})")
    if notification_url:
        check_url(notification_url)
    dialect = _dialect(session)
    now = clock.now(dialect)
    task = (
        await session.scalars(
            insert(Task)
            .values(
                tenant_id=tenant_id,
                catalog_id=catalog_id,
                type=task_type,
                status=TaskStatus.PENDING if pending else TaskStatus.QUEUED,
                queue_seq=None if pending else _next_place(dialect),
                params=params,
                submitted_by=submitted_by,
                notification_email=notification_email or None,
                notification_url=notification_url or None,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
                **submitted_from(),
                submission_time=now,
                last_update=now,
            )
            .returning(Task)
        )
    ).one()
    log_context.bind(task_id=task.id)
    rows = [{"task_id": task.id, "seq": seq, "part": part, "body": body} for seq, (part, body) in enumerate(payload)]
    if rows:
        await session.execute(TaskPayload.__table__.insert(), rows)
    if not pending:
        await notify(session)
    if commit:
        await session.commit()
    return task


async def open_pending(session: AsyncSession, **task: Any) -> Task:
    """A PENDING task for an upload that streams: committed at once, never claimed, never listed.

    The upload stores its parts in short transactions (store_part) and the final commit makes it
    QUEUED (submit_pending); a broken upload's task is deleted (discard_pending, or purge_pending
    after a timeout). No transaction stays open while the client sends its bytes.
    """
    return await enqueue(session, pending=True, commit=True, **task)


async def store_part(session: AsyncSession, task_id: int, seq: int, part: str, body: bytes) -> None:
    """One part of a PENDING task's payload, in a transaction of its own that also marks the task alive."""
    alive = await session.execute(
        update(Task)
        .where(Task.id == task_id, Task.status == TaskStatus.PENDING)
        .values(last_update=clock.now(_dialect(session)))
    )
    if (alive.rowcount or 0) != 1:
        await session.rollback()
        raise Aborted(
            f"the upload of task {task_id} was idle too long and its parts were deleted; send it again",
            reason=ErrorReason.UPLOAD_EXPIRED,
        )
    await session.execute(
        TaskPayload.__table__.insert(), [{"task_id": task_id, "seq": seq, "part": part, "body": body}]
    )
    await session.commit()


async def touch_pending(session: AsyncSession, task_id: int) -> None:
    """Mark a PENDING task's upload alive without storing a part."""
    await session.execute(
        update(Task)
        .where(Task.id == task_id, Task.status == TaskStatus.PENDING)
        .values(last_update=clock.now(_dialect(session)))
    )
    await session.commit()


async def submit_pending(
    session: AsyncSession,
    task_id: int,
    *,
    params: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
) -> None:
    """Make a PENDING task QUEUED, with its place in the queue taken now. The caller commits: this is the
    acknowledgement, so FIFO per catalog follows these commits. Raises IntegrityError when another task
    holds the idempotency key, Aborted when the task was purged meanwhile."""
    dialect = _dialect(session)
    values: dict[str, Any] = {
        "status": TaskStatus.QUEUED,
        "queue_seq": _next_place(dialect),
        "submission_time": clock.now(dialect),
        "last_update": clock.now(dialect),
    }
    if params is not None:
        values["params"] = params
    if idempotency_key is not None:
        values["idempotency_key"] = idempotency_key
        values["request_hash"] = request_hash
    submitted = await session.execute(
        update(Task).where(Task.id == task_id, Task.status == TaskStatus.PENDING).values(**values)
    )
    if (submitted.rowcount or 0) != 1:
        raise Aborted(
            f"the upload of task {task_id} was idle too long and its parts were deleted; send it again",
            reason=ErrorReason.UPLOAD_EXPIRED,
        )
    await notify(session)


async def discard_pending(session: AsyncSession, task_id: int) -> None:
    """Delete a broken upload's PENDING task and its parts (a queued task is never touched)."""
    await session.execute(delete(Task).where(Task.id == task_id, Task.status == TaskStatus.PENDING))
    await session.commit()


async def purge_pending(conn: AsyncConnection, idle_seconds: float) -> int:
    """Delete the PENDING tasks no part was stored for in `idle_seconds` (by the database clock):
    leftovers of uploads whose server died or whose client went away."""
    purged = await conn.execute(
        delete(Task).where(
            Task.status == TaskStatus.PENDING, Task.last_update < clock.ago(_dialect(conn), idle_seconds)
        )
    )
    await conn.commit()
    return purged.rowcount or 0


def status_path(task_id: int) -> str:
    """Where the documented Tasks API shows a task (the `task_status_path` of write responses)."""
    return f"/v1/task/{task_id}"


async def notify(session: AsyncSession | AsyncConnection) -> None:
    """Wake listening workers when the surrounding transaction commits."""
    if _dialect(session) == "postgresql":
        await session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))


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
UPDATE tasks SET status = 'IN_PROGRESS', worker_id = :worker, attempts = attempts + 1,
    start_time = coalesce(start_time, {now}), last_update = {now}
WHERE id = (
    SELECT t.id FROM tasks t
    WHERE t.status IN ('QUEUED', 'IN_PROGRESS')
      AND (t.status = 'QUEUED' OR (t.worker_id <> :worker AND NOT EXISTS (
            SELECT 1 FROM workers w WHERE w.id = t.worker_id AND w.heartbeat_at > {stale_before})))
      AND NOT EXISTS (
            SELECT 1 FROM tasks p
            WHERE p.catalog_id = t.catalog_id AND p.id <> t.id AND (
                (p.queue_seq < t.queue_seq AND p.status IN ('QUEUED', 'IN_PROGRESS'))
                -- A task takes its place in the queue at its commit, which can come after a later place's task
                -- started: a running task blocks the catalog whatever its place, while its worker lives.
                OR (p.status = 'IN_PROGRESS' AND EXISTS (
                    SELECT 1 FROM workers w WHERE w.id = p.worker_id AND w.heartbeat_at > {stale_before}))))
    ORDER BY t.queue_seq
    LIMIT 1
    {lock}
)
RETURNING id, tenant_id, catalog_id, type, params, attempts, notification_email
"""
# A claimed task's row stays unlocked while it runs (progress is written to it); a task whose worker's
# heartbeat is older than the lease (by the database clock) belongs to a dead worker and is claimed again
# (never by the worker that holds it: a late heartbeat of its own is no reason to run its task twice).
# The start time is the claim statement's: it saw the previous task's commit, so it is never earlier.


@functools.cache
def _claim_sql(dialect: str, lease_timeout: float) -> TextClause:
    lock = "FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else ""
    return text(
        _CLAIM.format(now=clock.now_sql(dialect), stale_before=clock.ago_sql(dialect, lease_timeout), lock=lock)
    )


async def claim(conn: AsyncConnection, worker_id: str, lease_timeout: float) -> ClaimedTask | None:
    """Take the first runnable task in queue order: the first unfinished task of its catalog, not held by a
    live worker."""
    row = (await conn.execute(_claim_sql(conn.dialect.name, lease_timeout), {"worker": worker_id})).first()
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
    now = clock.now(conn.dialect.name)
    await conn.execute(
        Worker.__table__.insert().values(id=worker_id, hostname=hostname, pid=pid, started_at=now, heartbeat_at=now)
    )
    await conn.commit()


async def heartbeat(conn: AsyncConnection, worker_id: str) -> bool:
    """Renew the worker's lease; False when its row is gone (it was given up: register again)."""
    beat = await conn.execute(
        update(Worker).where(Worker.id == worker_id).values(heartbeat_at=clock.now(conn.dialect.name))
    )
    await conn.commit()
    return (beat.rowcount or 0) == 1


async def unregister_worker(conn: AsyncConnection, worker_id: str) -> int:
    """Hand the worker's unfinished tasks back to the queue and forget the worker."""
    released = await conn.execute(
        update(Task)
        .where(Task.worker_id == worker_id, Task.status == TaskStatus.IN_PROGRESS)
        .values(status=TaskStatus.QUEUED, worker_id=None, last_update=clock.now(conn.dialect.name))
    )
    await conn.execute(delete(Worker).where(Worker.id == worker_id))
    await conn.commit()
    return released.rowcount or 0


async def release(conn: AsyncConnection, task_id: int, worker_id: str) -> bool:
    """Hand one task back to the queue (its attempt was rolled back), if this worker still holds it."""
    released = await conn.execute(
        update(Task)
        .where(Task.id == task_id, Task.worker_id == worker_id, Task.status == TaskStatus.IN_PROGRESS)
        .values(status=TaskStatus.QUEUED, worker_id=None, last_update=clock.now(conn.dialect.name))
    )
    await conn.commit()
    return (released.rowcount or 0) == 1


async def live_workers(conn: AsyncConnection | AsyncSession, lease_timeout: float) -> int:
    """Workers whose heartbeat is within the lease, by the database clock."""
    stale_before = clock.ago(_dialect(conn), lease_timeout)
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
    now = clock.now(conn.dialect.name)
    values: dict[str, Any] = {
        "status": status,
        "finish_time": now,
        "last_update": now,
        "result": result,
        "error": _storable(error),
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
    finished = (done.rowcount or 0) == 1
    if finished:
        await outbox.enqueue(conn, task_id)  # its webhook, committed with the outcome
        await retention.drop_payload_if_done(conn, task_id, status)
    return finished


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value: Any) -> Any:
    """The error with NUL and lone surrogates escaped (`\\u0000`): PostgreSQL text cannot hold them, and a
    message may quote the refused input; a failure to store it would leave the task IN_PROGRESS."""
    if isinstance(value, str):
        return _UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", value)
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


async def report_progress(conn: AsyncConnection, task_id: int, worker_id: str, seen: int, applied: int) -> None:
    await conn.execute(
        update(Task)
        .where(Task.id == task_id, Task.worker_id == worker_id, Task.status == "IN_PROGRESS")
        .values(records_seen=seen, records_applied=applied, last_update=clock.now(conn.dialect.name))
    )
    await conn.commit()


# Called in the transaction that cancels a task: what the task's own resources must show about it.
OnCanceled = Callable[[AsyncConnection, ClaimedTask], Awaitable[None]]


async def cancel(session: AsyncSession, tenant_id: int, task_id: int, on_canceled: OnCanceled | None = None) -> Task:
    now = clock.now(_dialect(session))
    changed = await session.execute(
        update(Task)
        .where(Task.id == task_id, Task.tenant_id == tenant_id, Task.status == "QUEUED")
        .values(status="CANCELED", finish_time=now, last_update=now)
        .returning(*(getattr(Task, f.name) for f in dataclasses.fields(ClaimedTask)))
    )
    canceled = changed.first()
    if canceled is not None:
        await outbox.enqueue(await session.connection(), task_id)  # its webhook, committed with the cancel
        await retention.drop_payload_if_done(session, task_id, "CANCELED")
    if canceled is not None and on_canceled is not None:
        await on_canceled(await session.connection(), ClaimedTask(*canceled))
    await session.commit()
    task = await get_task(session, tenant_id, task_id)
    if canceled is None:
        raise FailedPrecondition(
            f"task {task_id} is {task.status}; only a QUEUED task can be canceled",
            reason=ErrorReason.TASK_NOT_CANCELABLE,
            metadata={"status": task.status},
        )
    return task


async def get_task(session: AsyncSession, tenant_id: int, task_id: int) -> Task:
    """Another tenant's task is NOT_FOUND, exactly like a task that does not exist."""
    task = (
        await session.execute(
            select(Task)
            .where(Task.id == task_id, Task.tenant_id == tenant_id, Task.status != TaskStatus.PENDING)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if task is None:
        raise NotFound(f"task {task_id} not found", reason=ErrorReason.TASK_NOT_FOUND)
    return task
