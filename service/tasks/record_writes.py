"""Applying JSON record writes: replace, update (merge) and delete."""

from __future__ import annotations

from typing import Any

from catalogingest.v1 import record_pb2
from service.domain import record_versions as preconditions
from service.domain.records import to_staged
from service.domain.task_errors import REJECTED_PART, decode_rejected
from service.store.links import enforce_links
from service.store.staged import add_counts
from service.tasks.context import TaskContext
from service.tasks.status import TaskType

RECORDS_PART = "records"


def encode_chunk(records: list[record_pb2.Record]) -> bytes:
    return record_pb2.RecordBatch(records=records).SerializeToString()


async def apply_record_write(ctx: TaskContext) -> dict[str, Any]:
    params = ctx.task.params
    kind: int = params["kind"]
    store = await ctx.record_store()
    seen = 0
    expected: list[preconditions.Precondition] = []
    rejected = 0
    async for part, body in ctx.parts():
        if part == REJECTED_PART:  # records refused at submission under on_invalid=SKIP
            for error in decode_rejected(body):
                ctx.errors.add(error)
                rejected += 1
            continue
        chunk = record_pb2.RecordBatch.FromString(body)
        await store.stage(to_staged(chunk.records, kind, start_seq=seen))
        expected += preconditions.preconditions_of(chunk.records, start_seq=seen)
        seen += len(chunk.records)
        ctx.progress(seen)
    # The hook of `on_invalid=SKIP` (a record whose precondition failed is skipped and reported); otherwise
    # all or nothing: the task fails naming every such record.
    skip = params.get("on_invalid") == "SKIP"
    conflicts = await preconditions.enforce(ctx.conn, store.version_id, kind, expected, skip=skip)
    if ctx.task.type == TaskType.RECORDS_REPLACE:
        counts = await store.replace()
    elif ctx.task.type == TaskType.RECORDS_UPDATE:
        counts = await store.merge(params.get("on_missing", "FAIL"))
    else:
        counts = await store.delete()
    await enforce_links(
        ctx.conn, store.version_id, counts, "SELECT record_id, context FROM stage_records WHERE kind = 1"
    )
    if kind == 2 and ctx.task.type != TaskType.RECORDS_DELETE:
        await store.check_parents(ctx.errors)
    preconditions.add_skipped_conflicts(counts, kind, conflicts)
    if rejected:
        add_counts(counts, kind, rejected=rejected)
    ctx.progress(seen, seen)
    return counts
