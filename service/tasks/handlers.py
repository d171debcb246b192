"""Task types and the function that applies each. A handler returns the task's result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from service.tasks.bulk_items import apply_bulk_items
from service.tasks.catalog_upload import apply_catalog_upload
from service.tasks.context import Handler
from service.tasks.ingestion import apply_batch_ingestion, record_ingestion_failure
from service.tasks.queue import ClaimedTask
from service.tasks.record_writes import apply_record_write

HANDLERS: dict[str, Handler] = {
    "records_replace": apply_record_write,
    "records_update": apply_record_write,
    "records_delete": apply_record_write,
    "catalog_sync": apply_catalog_upload,
    "catalog_delta": apply_catalog_upload,
    "batch_ingestion": apply_batch_ingestion,
    "bulk_items_replace": apply_bulk_items,
    "bulk_items_update": apply_bulk_items,
}
# Task types whose handler reads the payload on a connection of its own (TaskContext.payload_connection).
PAYLOAD_READERS = frozenset({"catalog_sync", "catalog_delta"})

# Called by the worker after a task of the type FAILED (its transaction rolled back), in a transaction of
# its own: what the task's own resources must show about the failure.
FailureHook = Callable[[AsyncConnection, ClaimedTask, dict[str, Any]], Awaitable[None]]
FAILURE_HOOKS: dict[str, FailureHook] = {"batch_ingestion": record_ingestion_failure}


async def record_cancellation(conn: AsyncConnection, task: ClaimedTask) -> None:
    """A task canceled before it ran failed, as far as its own resources are concerned."""
    hook = FAILURE_HOOKS.get(task.type)
    if hook is not None:
        await hook(conn, task, {"reason": "CANCELED", "message": f"task {task.id} was canceled before it ran"})
