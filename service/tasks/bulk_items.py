"""Applying the bulk per-item API's tasks: replace each item's properties, or merge them in.

The payload holds only items that passed validation at submission (servicers/bulk_items.py), as
item records whose `data` is the properties object. A partial update without upsert was checked
against the catalog at submission; an item deleted since then is skipped here, not created, and
counted as rejected and named in the task's result.
"""

from __future__ import annotations

from typing import Any

from catalogingest.v1 import record_pb2
from service.bulk_items import ITEM, existing_item_ids
from service.records import to_staged
from service.tasks.context import TaskContext

BULK_REPLACE = "bulk_items_replace"
BULK_UPDATE = "bulk_items_update"
MAX_SKIPPED_SHOWN = 100


async def apply_bulk_items(ctx: TaskContext) -> dict[str, Any]:
    version_id = await ctx.active_version_id()
    store = await ctx.record_store(version_id)
    upsert = bool(ctx.task.params.get("upsert"))
    ids: list[str] = []
    async for _part, body in ctx.parts():
        chunk = record_pb2.RecordBatch.FromString(body)
        await store.stage(to_staged(chunk.records, ITEM, start_seq=len(ids)))
        ids.extend(record.id for record in chunk.records)
        ctx.progress(len(ids))
    if ctx.task.type == BULK_REPLACE:
        counts = await store.replace()
    elif upsert:
        counts = await store.merge("CREATE")
    else:
        missing = set(ids) - await existing_item_ids(ctx.conn, version_id, ids)
        counts = await store.merge("IGNORE")
        if missing:
            # merge("IGNORE") counts a skipped item as unchanged; it was not applied at all.
            items = counts["items"]
            skipped = sum(1 for i in ids if i in missing)
            items["unchanged"] -= skipped
            items["rejected"] += skipped
            counts["skipped_record_ids"] = sorted(missing)[:MAX_SKIPPED_SHOWN]
    ctx.progress(len(ids), len(ids))
    return counts
