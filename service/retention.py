"""Retention: what the queue keeps after a task finishes, and for how long.

Where payloads live: `task_payloads` (the chunks of every task's input, and of uploads still streaming under
a PENDING task: those go with their task after CATALOG_INGEST_PENDING_UPLOAD_EXPIRY_SECONDS, see
queue.purge_pending), `batch_items` (a batch's staged items: kept until the batch expires, because a batch
may be ingested again, and purged with it by batches.purge_expired). `tasks.params` holds options only;
the staging tables of a write (stage_records, batch_items_stage, ingest_errors) are temporary and emptied or
dropped at its commit.

- A DONE task's payload is deleted in the transaction that finishes it: nothing reads it again.
- A FAILED or CANCELED task's payload is kept `failed_payload_retention_seconds`, to inspect it and send it again
  (`POST /v1/tasks/{id}:retry`, TaskService.RetryTask).
- A finished task (its status, result and error) is deleted `task_retention_seconds` after it finished, with
  the finished ingestions recorded that long ago.
- An idempotency key is released once its window is over (the key is a column of its task).
- A record change (`record_history`) is deleted `history_retention_seconds` after it was made (with history
  off, 0, the whole history goes).

Every time compared here is the database's (service.db.clock).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from service.db import clock
from service.db.models import IdempotentResponse, Ingestion, Task, TaskPayload
from service.settings import Settings
from service.store.record_history import purge_history

log = logging.getLogger(__name__)
FINISHED = ("DONE", "FAILED", "CANCELED")
# What RetryTask re-submits: these keep their payloads for failed_payload_retention_seconds.
RETRIABLE = ("FAILED", "CANCELED")
# Ingestion statuses that no task will change again.
FINISHED_INGESTION = ("SUCCESS", "FAILURE", "ERROR", "CANCELED")


async def drop_payload_if_done(conn: AsyncConnection | AsyncSession, task_id: int, status: str) -> None:
    """In the transaction that finishes the task: its payload goes unless it FAILED or was CANCELED (RetryTask
    may send it again)."""
    if status not in RETRIABLE:
        await conn.execute(delete(TaskPayload).where(TaskPayload.task_id == task_id))


@dataclass(frozen=True)
class Purged:
    """What one purge removed, per kind."""

    tasks: int = 0
    payload_chunks: int = 0
    ingestions: int = 0
    idempotency_keys: int = 0
    record_changes: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def __bool__(self) -> bool:
        return any(self.as_dict().values())


@dataclass(frozen=True)
class Policy:
    """How long finished tasks, failed tasks' payloads and idempotency keys are kept (seconds)."""

    task_seconds: float
    failed_payload_seconds: float
    idempotency_seconds: float
    history_seconds: float = 30 * 24 * 3600

    @classmethod
    def of(cls, settings: Settings, older_than: float | None = None) -> Policy:
        """The configured policy; `older_than` (tasks purge --older-than) shortens both task retentions."""
        tasks = settings.task_retention_seconds if older_than is None else older_than
        return cls(
            task_seconds=tasks,
            failed_payload_seconds=min(settings.failed_payload_retention_seconds, tasks),
            idempotency_seconds=settings.idempotency_window_seconds,
            history_seconds=settings.history_retention_seconds,
        )


async def purge(conn: AsyncConnection, policy: Policy) -> Purged:
    """Delete what the policy no longer keeps, in one transaction (committed here)."""
    db_clock = clock.of(conn)
    old_tasks = select(Task.id).where(Task.status.in_(FINISHED), Task.finish_time < db_clock.ago(policy.task_seconds))
    # Payload chunks counted apart from their tasks; those of DONE tasks finished before payloads were dropped at
    # finish go too.
    expired_payload_tasks = select(Task.id).where(
        (Task.status == "DONE")
        | ((Task.status.in_(RETRIABLE)) & (Task.finish_time < db_clock.ago(policy.failed_payload_seconds)))
        | Task.id.in_(old_tasks)
    )
    chunks = await conn.execute(delete(TaskPayload).where(TaskPayload.task_id.in_(expired_payload_tasks)))
    ingestions = await conn.execute(
        delete(Ingestion).where(
            Ingestion.status.in_(FINISHED_INGESTION),
            ~exists().where(Task.id == Ingestion.task_id, ~Task.id.in_(old_tasks)),
        )
    )
    tasks = await conn.execute(delete(Task).where(Task.id.in_(old_tasks)))
    keys = await conn.execute(
        update(Task)
        .where(
            Task.idempotency_key.is_not(None),
            Task.status != "PENDING",
            Task.submission_time < db_clock.ago(policy.idempotency_seconds),
        )
        .values(idempotency_key=None)
    )
    changes = await purge_history(conn, policy.history_seconds)
    # The answers of writes without a task (batch item calls, activations) stored under their key.
    answers = await conn.execute(
        delete(IdempotentResponse).where(IdempotentResponse.created_at < db_clock.ago(policy.idempotency_seconds))
    )
    await conn.commit()
    return Purged(
        tasks=tasks.rowcount or 0,
        payload_chunks=chunks.rowcount or 0,
        ingestions=ingestions.rowcount or 0,
        idempotency_keys=(keys.rowcount or 0) + (answers.rowcount or 0),
        record_changes=changes,
    )


def periodic_purge(engine: AsyncEngine, settings: Settings) -> Callable[[], Awaitable[None]]:
    """The workers' periodic job (any worker may run it; running it twice at once is harmless)."""
    policy = Policy.of(settings)

    async def _purge_finished_tasks() -> None:
        async with engine.connect() as conn:
            purged = await purge(conn, policy)
        if purged:
            log.info("retention purge removed %s", ", ".join(f"{n} {k}" for k, n in purged.as_dict().items()))

    return _purge_finished_tasks
