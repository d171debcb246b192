"""Task types and the function that applies each. A handler returns the task's result."""

from __future__ import annotations

from service.tasks.bulk_items import apply_bulk_items
from service.tasks.catalog_upload import apply_catalog_upload
from service.tasks.context import Handler
from service.tasks.record_writes import apply_record_write

HANDLERS: dict[str, Handler] = {
    "records_replace": apply_record_write,
    "records_update": apply_record_write,
    "records_delete": apply_record_write,
    "catalog_sync": apply_catalog_upload,
    "catalog_delta": apply_catalog_upload,
    "bulk_items_replace": apply_bulk_items,
    "bulk_items_update": apply_bulk_items,
}
