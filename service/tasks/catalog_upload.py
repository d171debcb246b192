"""Applying a catalog upload: parse each CSV file as a stream, stage it, then sync or upsert in one go.

Parsing (Python) and COPY (PostgreSQL, another core) overlap: the payload is read on a second
connection and parsed in a thread while the task's own connection copies the previous batch into staging.
"""

from __future__ import annotations

import asyncio
from typing import Any

from service.domain.csv_records import FILE_NAMES, VARIATION, CsvError, CsvStream
from service.domain.ids import id_problem
from service.domain.records import stored_as_staged
from service.domain.task_errors import OnInvalid, on_invalid_of
from service.store.links import enforce_links
from service.store.ports import RecordStore
from service.store.record_reads import get_records
from service.store.staged import ROW_BITS, StagedRecord, add_counts
from service.tasks import queue
from service.tasks.context import TaskContext
from service.tasks.status import TaskType
from service.timeutil import utcnow


class _Stager:
    """Keeps one COPY in flight while the next batch is parsed."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store
        self.pending: asyncio.Task[None] | None = None

    async def put(self, staged: list[StagedRecord]) -> None:
        await self.flush()
        if staged:
            self.pending = asyncio.create_task(self.store.stage(staged))

    async def flush(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            await pending

    async def cancel(self) -> None:
        if self.pending is not None and not self.pending.done():
            self.pending.cancel()
            await asyncio.gather(self.pending, return_exceptions=True)


async def apply_catalog_upload(ctx: TaskContext) -> dict[str, Any]:
    params = ctx.task.params
    kinds: list[int] = sorted(params["files"])
    patch = bool(params.get("patch_delta"))
    skip = on_invalid_of(params) == OnInvalid.SKIP
    store = await ctx.record_store()
    now = utcnow()
    seen = 0
    # Every row is read and checked; a row that fails is reported (service.domain.task_errors), not the end.
    rejected = dict.fromkeys(kinds, 0)
    # A skipping sync keeps the stored records its refused rows name (below): their ids.
    refused_ids: dict[int, list[str]] | None = (
        {kind: [] for kind in kinds} if skip and ctx.task.type == TaskType.CATALOG_SYNC else None
    )

    def invalid_row(error: CsvError, record: Any) -> None:
        ctx.errors.add_failure(error, record)
        rejected[error.kind] += 1
        if refused_ids is not None:
            refused_ids[error.kind].append(error.record_id)

    await store.stage([])  # a declared empty file still means "no records of this kind"
    stager = _Stager(store)
    try:
        async with ctx.payload_connection() as payload:
            for kind in kinds:
                stream = CsvStream(kind, patch=patch, now=now, on_invalid_row=invalid_row)
                async for _part, chunk in queue.payload_parts(payload, ctx.task.id, FILE_NAMES[kind]):
                    # Parsed off the event loop, so the COPY of the previous batch streams to PostgreSQL meanwhile.
                    staged = await asyncio.to_thread(stream.push, chunk)
                    # All or nothing: past the first error, the rest is only checked.
                    await stager.put(staged if skip or not ctx.reported else [])
                    seen += len(staged)
                    ctx.progress(seen)
                staged = stream.finish()
                await stager.put(staged if skip or not ctx.reported else [])
                seen += len(staged)
                ctx.progress(seen)
        await stager.flush()
    finally:
        await stager.cancel()
    if ctx.reported and not skip:
        raise ctx.reported.failed()
    if refused_ids is not None and ctx.reported:
        # A refused row's record is kept as it is, not deleted as missing from the file: the 50% guard counts
        # only what the sync really deletes.
        await store.stage(await _kept(ctx, store.version_id, refused_ids))
    if ctx.task.type == TaskType.CATALOG_SYNC:
        counts = await store.sync(kinds, force=bool(params.get("force")), as_of=now)
    elif patch:
        await store.check_unique()
        counts = await store.merge("CREATE")
    else:
        counts = await store.replace(dedupe=False)
    # A sync's deleted items are any of the catalog's: their variations are found by one anti-join.
    await enforce_links(ctx.conn, store.version_id, counts)
    if VARIATION in kinds:
        await store.check_parents(ctx.errors)
    for kind, count in rejected.items():
        if count:
            add_counts(counts, kind, rejected=count)
    ctx.progress(seen, seen)
    return counts


async def _kept(ctx: TaskContext, version_id: int, rejected: dict[int, list[str]]) -> list[StagedRecord]:
    """The stored records named by refused rows, staged unchanged (CSV records have no context)."""
    kept: list[StagedRecord] = []
    seq = 1 << (ROW_BITS + 3)  # past every row's seq (kind << ROW_BITS | row)
    for kind, ids in rejected.items():
        named = sorted({record_id for record_id in ids if record_id and id_problem(record_id) is None})
        for start in range(0, len(named), 1000):
            for row in await get_records(ctx.conn, version_id, kind, "", named[start : start + 1000]):
                kept.append(stored_as_staged(row, seq))
                seq += 1
    return kept
