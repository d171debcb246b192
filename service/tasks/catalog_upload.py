"""Applying a catalog upload: parse each CSV file as a stream, stage it, then sync or upsert in one go.

Parsing (Python) and COPY (PostgreSQL, another core) overlap: the payload is read on a second
connection while the task's own connection copies the previous batch into staging.
"""

from __future__ import annotations

import asyncio
from typing import Any

from service.domain.csv_records import FILE_NAMES, VARIATION, CsvStream
from service.store.links import enforce_links
from service.store.ports import RecordStore
from service.store.staged import StagedRecord
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
    store = await ctx.record_store()
    now = utcnow()
    seen = 0
    await store.stage([])  # a declared empty file still means "no records of this kind"
    stager = _Stager(store)
    try:
        async with ctx.payload_connection() as payload:
            for kind in kinds:
                stream = CsvStream(kind, patch=patch, now=now)
                async for _part, chunk in queue.payload_parts(payload, ctx.task.id, FILE_NAMES[kind]):
                    staged = stream.push(chunk)
                    await stager.put(staged)
                    seen += len(staged)
                    ctx.progress(seen)
                staged = stream.finish()
                await stager.put(staged)
                seen += len(staged)
                ctx.progress(seen)
        await stager.flush()
    finally:
        await stager.cancel()
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
        await store.check_parents()
    ctx.progress(seen, seen)
    return counts
