"""Applying the bulk per-item API's tasks: replace each item's properties, or merge them in.

The payload holds only items that passed validation at submission (servicers/bulk_items.py), as
item records whose `data` is the properties object. Existence is decided here when submission could
not (service.domain.item_existence): a partial update of an item missing now is skipped, and an upsert that
would create an item without the catalog's required fields is refused; both count as rejected and are
named in the task's result.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select

from catalogingest.v1 import record_pb2
from service.db.models import Catalog
from service.domain import record_versions as preconditions
from service.domain.bulk_items import ITEM, existing_item_ids
from service.domain.field_types import FieldDef, stored_fields
from service.domain.item_existence import creation_problems
from service.domain.records import to_staged
from service.domain.task_errors import ReportedError
from service.error_reasons import ErrorReason
from service.store.links import LinkRules
from service.store.staged import add_skipped
from service.tasks.context import TaskContext
from service.tasks.status import TaskType

BULK_REPLACE = TaskType.BULK_ITEMS_REPLACE
BULK_UPDATE = TaskType.BULK_ITEMS_UPDATE


async def apply_bulk_items(ctx: TaskContext) -> dict[str, Any]:
    version_id = await ctx.active_version_id()
    store = await ctx.record_store(version_id)
    upsert = bool(ctx.task.params.get("upsert"))
    creating = ctx.task.type == BULK_UPDATE and upsert
    fields = await _required_fields(ctx) if creating else {}
    refused: list[str] = []
    created: set[str] = set()
    sent: dict[str, str] = {}  # each item's properties as sent, for the errors (a call holds at most 5,000)
    seen = 0
    expected: list[preconditions.Precondition] = []
    async for _part, body in ctx.parts():
        records = list(record_pb2.RecordBatch.FromString(body).records)
        count = len(records)
        sent.update((record.id, record.data_json) for record in records)
        if fields:
            records = await _creatable(ctx, version_id, fields, records, created, refused)
        await store.stage(to_staged(records, ITEM, start_seq=seen))
        expected += preconditions.preconditions_of(records, start_seq=seen)
        seen += count
        ctx.progress(seen)
    # Per item, like the API's other per-item problems: an item whose precondition failed is skipped.
    conflicts = await preconditions.enforce(ctx.conn, version_id, ITEM, expected, skip=True)
    # An item naming a missing group is refused on its own (R2), like any other per-item problem.
    dangling, dangling_ids = await LinkRules(ctx.conn, version_id).reject_dangling_items()
    if ctx.task.type == BULK_REPLACE:
        counts = await store.replace()
    else:
        counts = await store.merge("CREATE" if upsert else "IGNORE")
    if refused or dangling:
        add_skipped(counts, ITEM, len(refused) + dangling, refused + dangling_ids)
    preconditions.add_skipped_conflicts(counts, ITEM, conflicts)
    for item_id in dangling_ids:
        ctx.errors.add(
            ReportedError(
                reason=ErrorReason.MISSING_GROUP,
                message=f"item '{item_id}' names a group_ids entry that is not an item group of the catalog",
                record_id=item_id,
                record=_as_sent(item_id, sent.get(item_id)),
            )
        )
    ctx.progress(seen, seen)
    return counts


async def _required_fields(ctx: TaskContext) -> dict[str, FieldDef]:
    """The catalog's fields when some are required (otherwise any upsert may create its item)."""
    schema = (await ctx.conn.execute(select(Catalog.field_schema).where(Catalog.id == ctx.task.catalog_id))).scalar()
    fields = stored_fields(schema)
    return fields if any(f.required for f in fields.values()) else {}


def _as_sent(item_id: str, data_json: str | None) -> dict[str, Any]:
    """An item as the bulk API takes it: {"item_id", "properties"}."""
    return {"item_id": item_id, "properties": orjson.loads(data_json or "{}")}


async def _creatable(
    ctx: TaskContext,
    version_id: int,
    fields: dict[str, FieldDef],
    records: list[record_pb2.Record],
    created: set[str],
    refused: list[str],
) -> list[record_pb2.Record]:
    """The records an upsert may apply: those of existing items, and those that create an item complete."""
    existing = await existing_item_ids(ctx.conn, version_id, [r.id for r in records])
    kept = []
    for record in records:
        if record.id in existing or record.id in created:
            kept.append(record)
        elif problems := creation_problems(fields, orjson.loads(record.data_json or "{}")):
            refused.append(record.id)
            ctx.errors.add(
                ReportedError(
                    reason=ErrorReason.INVALID_RECORD,
                    message=f"item '{record.id}' cannot be created: {' '.join(problems)}",
                    record_id=record.id,
                    record=_as_sent(record.id, record.data_json),
                )
            )
        else:
            created.add(record.id)
            kept.append(record)
    return kept
