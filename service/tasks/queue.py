"""The task queue: enqueue, claim (FIFO per catalog), heartbeat, finish, release, cancel.

The functions callers use, on whichever database their session or connection is: each asks the queue
store of that database (service.tasks.queue_backends) to do it. The statements, and what differs between
PostgreSQL (any number of processes: SKIP LOCKED claims, NOTIFY) and SQLite (one process), live in the
stores; the states and their transitions in service.tasks.status.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.db.models import Task
from service.tasks.queue_backends import queue_store
from service.tasks.queue_common import MAX_EMAIL
from service.tasks.queue_postgres import NOTIFY_CHANNEL
from service.tasks.queue_store import ClaimedTask, OnCanceled
from service.tasks.status import FINISHED, UNFINISHED, TaskStatus

__all__ = [
    "FINISHED",
    "MAX_EMAIL",
    "NOTIFY_CHANNEL",
    "UNFINISHED",
    "ClaimedTask",
    "OnCanceled",
    "cancel",
    "claim",
    "discard_pending",
    "enqueue",
    "finish",
    "get_task",
    "heartbeat",
    "live_workers",
    "notify",
    "open_pending",
    "payload_parts",
    "purge_pending",
    "register_worker",
    "release",
    "report_progress",
    "status_path",
    "store_part",
    "submit_pending",
    "touch_pending",
    "unregister_worker",
]


async def enqueue(session: AsyncSession, **task: Any) -> Task:
    """Store the task and its whole payload, then commit: only then may its id be returned.

    With commit=False the caller adds to the transaction and commits; the task is invisible, so
    not claimable, until then, and the NOTIFY issued here is delivered at that commit. With
    pending=True the task is PENDING (see open_pending). An idempotency key already held by
    another task raises IntegrityError.
    """
    return await queue_store(session).enqueue(session, **task)


async def open_pending(session: AsyncSession, **task: Any) -> Task:
    """A PENDING task for an upload that streams: committed at once, never claimed, never listed.

    The upload stores its parts in short transactions (store_part) and the final commit makes it
    QUEUED (submit_pending); a broken upload's task is deleted (discard_pending, or purge_pending
    after a timeout). No transaction stays open while the client sends its bytes.
    """
    return await enqueue(session, pending=True, commit=True, **task)


async def store_part(session: AsyncSession, task_id: int, seq: int, part: str, body: bytes) -> None:
    """One part of a PENDING task's payload, in a transaction of its own that also marks the task alive."""
    await queue_store(session).store_part(session, task_id, seq, part, body)


async def touch_pending(session: AsyncSession, task_id: int) -> None:
    """Mark a PENDING task's upload alive without storing a part."""
    await queue_store(session).touch_pending(session, task_id)


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
    await queue_store(session).submit_pending(
        session, task_id, params=params, idempotency_key=idempotency_key, request_hash=request_hash
    )


async def discard_pending(session: AsyncSession, task_id: int) -> None:
    """Delete a broken upload's PENDING task and its parts (a queued task is never touched)."""
    await queue_store(session).discard_pending(session, task_id)


async def purge_pending(conn: AsyncConnection, idle_seconds: float) -> int:
    """Delete the PENDING tasks no part was stored for in `idle_seconds` (by the database clock):
    leftovers of uploads whose server died or whose client went away."""
    return await queue_store(conn).purge_pending(conn, idle_seconds)


def status_path(task_id: int) -> str:
    """Where the documented Tasks API shows a task (the `task_status_path` of write responses)."""
    return f"/v1/task/{task_id}"


async def notify(session: AsyncSession | AsyncConnection) -> None:
    """Wake listening workers when the surrounding transaction commits."""
    await queue_store(session).notify(session)


def payload_parts(conn: AsyncConnection, task_id: int, part: str | None = None) -> AsyncIterator[tuple[str, bytes]]:
    """The payload (or one named part of it) in submission order, a few chunks at a time."""
    return queue_store(conn).payload_parts(conn, task_id, part)


async def claim(conn: AsyncConnection, worker_id: str, lease_timeout: float) -> ClaimedTask | None:
    """Take the first runnable task in queue order: the first unfinished task of its catalog, not held by a
    live worker."""
    return await queue_store(conn).claim(conn, worker_id, lease_timeout)


async def register_worker(conn: AsyncConnection, worker_id: str, hostname: str, pid: int) -> None:
    await queue_store(conn).register_worker(conn, worker_id, hostname, pid)


async def heartbeat(conn: AsyncConnection, worker_id: str) -> bool:
    """Renew the worker's lease; False when its row is gone (it was given up: register again)."""
    return await queue_store(conn).heartbeat(conn, worker_id)


async def unregister_worker(conn: AsyncConnection, worker_id: str) -> int:
    """Hand the worker's unfinished tasks back to the queue and forget the worker."""
    return await queue_store(conn).unregister_worker(conn, worker_id)


async def release(conn: AsyncConnection, task_id: int, worker_id: str) -> bool:
    """Hand one task back to the queue (its attempt was rolled back), if this worker still holds it."""
    return await queue_store(conn).release(conn, task_id, worker_id)


async def live_workers(conn: AsyncConnection | AsyncSession, lease_timeout: float) -> int:
    """Workers whose heartbeat is within the lease, by the database clock."""
    return await queue_store(conn).live_workers(conn, lease_timeout)


async def finish(
    conn: AsyncConnection,
    task_id: int,
    worker_id: str,
    status: TaskStatus,
    *,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    records_seen: int | None = None,
    records_applied: int | None = None,
    webhook: bool = True,
) -> bool:
    """Mark the task DONE or FAILED if this worker still holds it; False means another worker took it over.
    A dry run's (webhook=False) sends no webhook."""
    return await queue_store(conn).finish(
        conn,
        task_id,
        worker_id,
        status,
        result=result,
        error=error,
        records_seen=records_seen,
        records_applied=records_applied,
        webhook=webhook,
    )


async def report_progress(conn: AsyncConnection, task_id: int, worker_id: str, seen: int, applied: int) -> None:
    await queue_store(conn).report_progress(conn, task_id, worker_id, seen, applied)


async def cancel(session: AsyncSession, tenant_id: int, task_id: int, on_canceled: OnCanceled | None = None) -> Task:
    """Cancel a QUEUED task; any other status is FAILED_PRECONDITION naming it."""
    return await queue_store(session).cancel(session, tenant_id, task_id, on_canceled)


async def get_task(session: AsyncSession, tenant_id: int, task_id: int) -> Task:
    """Another tenant's task is NOT_FOUND, exactly like a task that does not exist."""
    return await queue_store(session).get_task(session, tenant_id, task_id)
