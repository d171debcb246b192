"""Task types and the function that applies each. A handler returns the task's result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from service.error_reasons import ErrorReason
from service.tasks.bulk_items import apply_bulk_items
from service.tasks.catalog_upload import apply_catalog_upload
from service.tasks.context import Handler
from service.tasks.ingestion import apply_batch_ingestion, record_ingestion_dry_run, record_ingestion_failure
from service.tasks.queue import ClaimedTask
from service.tasks.record_writes import apply_record_write
from service.tasks.status import TaskType

HANDLERS: dict[str, Handler] = {
    TaskType.RECORDS_REPLACE: apply_record_write,
    TaskType.RECORDS_UPDATE: apply_record_write,
    TaskType.RECORDS_DELETE: apply_record_write,
    TaskType.CATALOG_SYNC: apply_catalog_upload,
    TaskType.CATALOG_DELTA: apply_catalog_upload,
    TaskType.BATCH_INGESTION: apply_batch_ingestion,
    TaskType.BULK_ITEMS_REPLACE: apply_bulk_items,
    TaskType.BULK_ITEMS_UPDATE: apply_bulk_items,
}
# Task types whose handler reads the payload on a connection of its own (TaskContext.payload_connection).
PAYLOAD_READERS = frozenset({"catalog_sync", "catalog_delta"})

# Called by the worker after a task of the type FAILED (its transaction rolled back), in a transaction of
# its own: what the task's own resources must show about the failure.
FailureHook = Callable[[AsyncConnection, ClaimedTask, dict[str, Any]], Awaitable[None]]
FAILURE_HOOKS: dict[str, FailureHook] = {TaskType.BATCH_INGESTION: record_ingestion_failure}
# Called by the worker after a dry run rolled back, in the transaction that makes the task DONE with its result:
# what the task's own resources must show about the dry run.
DRY_RUN_HOOKS: dict[str, FailureHook] = {TaskType.BATCH_INGESTION: record_ingestion_dry_run}


async def record_cancellation(conn: AsyncConnection, task: ClaimedTask) -> None:
    """A task canceled before it ran failed, as far as its own resources are concerned."""
    hook = FAILURE_HOOKS.get(task.type)
    if hook is not None:
        await hook(
            conn, task, {"reason": ErrorReason.CANCELED, "message": f"task {task.id} was canceled before it ran"}
        )
