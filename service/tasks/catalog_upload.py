"""Applying a catalog upload: parse each CSV file as a stream, stage it, then sync or upsert in one go."""

from __future__ import annotations

from typing import Any

from service.csv_records import FILE_NAMES, VARIATION, CsvStream
from service.tasks.context import TaskContext
from service.timeutil import utcnow


async def apply_catalog_upload(ctx: TaskContext) -> dict[str, Any]:
    params = ctx.task.params
    kinds: list[int] = sorted(params["files"])
    patch = bool(params.get("patch_delta"))
    store = await ctx.record_store()
    now = utcnow()
    seen = 0
    await store.stage([])  # a declared empty file still means "no records of this kind"
    for kind in kinds:
        stream = CsvStream(kind, patch=patch, now=now)
        async for _part, chunk in ctx.parts(FILE_NAMES[kind]):
            staged = stream.push(chunk)
            if staged:
                await store.stage(staged)
                seen += len(staged)
                ctx.progress(seen)
        staged = stream.finish()
        await store.stage(staged)
        seen += len(staged)
        ctx.progress(seen)
    if ctx.task.type == "catalog_sync":
        counts = await store.sync(kinds, force=bool(params.get("force")))
    elif patch:
        await store.check_unique()
        counts = await store.merge("CREATE")
    else:
        counts = await store.replace(dedupe=False)
    if VARIATION in kinds:
        await store.check_parents()
    ctx.progress(seen, seen)
    return counts
