"""RetryTask: a FAILED or CANCELED task's stored payload submitted again as a new task.

The new task goes to the end of its catalog's queue with the original's parameters (force, dry run and
on_invalid may be overridden), its payload copied chunk by chunk in the database, and `retry_of` naming the
original. Payloads of FAILED and CANCELED tasks are kept CATALOG_INGEST_FAILED_PAYLOAD_RETENTION_SECONDS
(service.retention); after that a retry is refused, naming why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import Ingestion, Task, TaskPayload
from service.error_reasons import ErrorReason
from service.errors import FailedPrecondition, invalid_field
from service.retention import RETRIABLE
from service.tasks import queue
from service.tasks.status import TaskType

ON_INVALID = ("FAIL", "SKIP")
# The task types whose `on_invalid` a retry may set (issue 14: CSV and /v2 writes); any other type takes it only
# when its task stored one.
ON_INVALID_TYPES = frozenset(
    {
        TaskType.CATALOG_SYNC,
        TaskType.CATALOG_DELTA,
        TaskType.RECORDS_REPLACE,
        TaskType.RECORDS_UPDATE,
        TaskType.RECORDS_DELETE,
    }
)
# Task types whose input is not a stored payload (an ingestion's is its batch, kept until the batch expires).
WITHOUT_PAYLOAD = frozenset({TaskType.BATCH_INGESTION})


@dataclass(frozen=True)
class Overrides:
    """What a retry changes; None keeps the original's."""

    force: bool | None = None
    dry_run: bool | None = None
    on_invalid: str | None = None

    def check(self) -> None:
        if self.on_invalid is not None and self.on_invalid not in ON_INVALID:
            raise invalid_field("on_invalid", "must be FAIL or SKIP")

    def applied(self, task_type: str, params: dict[str, Any]) -> dict[str, Any]:
        params = dict(params)
        if self.force is not None:
            params["force"] = self.force
        if self.dry_run is not None:
            if self.dry_run:
                params["dry_run"] = True
            else:
                params.pop("dry_run", None)
        if self.on_invalid is not None:
            if task_type not in ON_INVALID_TYPES and "on_invalid" not in params:
                raise invalid_field("on_invalid", f"a {task_type} task does not take on_invalid")
            params["on_invalid"] = self.on_invalid
        return params


async def retry(
    session: AsyncSession,
    tenant_id: int,
    task_id: int,
    overrides: Overrides,
    *,
    submitted_by: int | None,
    payload_retention_seconds: float,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
) -> int:
    """Queue the retry of task `task_id` (committed); its id. Another tenant's task is NOT_FOUND."""
    overrides.check()
    original = await queue.get_task(session, tenant_id, task_id)
    if original.status not in RETRIABLE:
        raise FailedPrecondition(
            f"task {task_id} is {original.status}; only a FAILED or CANCELED task can be retried",
            reason=ErrorReason.TASK_NOT_RETRIABLE,
            metadata={"status": original.status},
        )
    params = overrides.applied(original.type, original.params if isinstance(original.params, dict) else {})
    chunks = (
        await session.execute(select(func.count()).select_from(TaskPayload).where(TaskPayload.task_id == task_id))
    ).scalar_one()
    # An upload of empty files only stored no chunk (bytes_total 0): its payload is whole.
    if original.type not in WITHOUT_PAYLOAD and not chunks and params.get("bytes_total", 1) != 0:
        raise FailedPrecondition(
            f"the payload of task {task_id} is gone: a {original.status} task's payload is kept"
            f" {payload_retention_seconds:g} s (CATALOG_INGEST_FAILED_PAYLOAD_RETENTION_SECONDS) and was deleted;"
            " send the write again",
            reason=ErrorReason.TASK_PAYLOAD_EXPIRED,
            metadata={"status": original.status, "retention_seconds": f"{payload_retention_seconds:g}"},
        )
    await session.commit()  # end the read transaction (SQLite: the writes below start their own)
    task = await queue.enqueue(
        session,
        tenant_id=tenant_id,
        catalog_id=original.catalog_id,
        task_type=original.type,
        params=params,
        submitted_by=submitted_by,
        notification_email=original.notification_email,
        notification_url=original.notification_url,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        commit=False,
    )
    await session.execute(update(Task).where(Task.id == task.id).values(retry_of=task_id))
    await session.execute(
        insert(TaskPayload).from_select(
            ["task_id", "seq", "part", "body"],
            select(literal(task.id), TaskPayload.seq, TaskPayload.part, TaskPayload.body).where(
                TaskPayload.task_id == task_id
            ),
        )
    )
    if original.type == TaskType.BATCH_INGESTION and "ingestion_id" in params:
        # The ingestion is run again: RUNNING, shown by its new task.
        await session.execute(
            update(Ingestion)
            .where(Ingestion.id == params["ingestion_id"])
            .values(status="RUNNING", status_reason=None, summary=None, task_id=task.id)
        )
    new_id = task.id
    await session.commit()
    return new_id
