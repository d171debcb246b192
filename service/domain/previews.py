"""Dry runs (`validate_only`, REST `dry_run=true`): a task does all the work of the real one in its transaction,
then the worker rolls it back. What it would do is its result's `preview`:

- per kind, the counts (those the handler returns, the same the real run reports; an ingestion's, which its
  handler does not count per kind, by comparing the two views below);
- samples: up to SAMPLES ids created and deleted, and SAMPLES updates with the changed fields before and after,
  found by comparing the task's transaction (applied, not committed) with a second connection that still sees
  the committed records (service.store.previews);
- whether the real run would fail, and whether a guard would stop it (the 50% sync guard, an ingestion's
  minItemCount / minSuccessRatePercent), with its errors.

The comparison reads only the records written since the task began (by `updated_at`) and, when the task
deletes, the keys of the kinds it deletes from: the cost of a preview is a fraction of the write's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from catalogingest.v1 import task_pb2
from service.db import clock
from service.domain.task_errors import ReportedErrors
from service.error_reasons import ErrorReason
from service.errors import TaskFailed
from service.store import previews as store
from service.store.staged import KIND_NAMES

SAMPLES = 20
PAGE = 2000
# Records written this long before the task's first statement are compared too: the clock read here is the
# statement's, a record's `updated_at` may be its transaction's start. A record compared needlessly is found
# unchanged and costs one comparison.
MARGIN_SECONDS = 60.0
GUARDS = frozenset({ErrorReason.SAFETY_THRESHOLD, ErrorReason.THRESHOLD_NOT_MET})
_ERROR_FIELDS = frozenset(task_pb2.TaskError.DESCRIPTOR.fields_by_name)
# A preview shows the first errors; the task's error list (ListTaskErrors) holds them all.
MAX_PREVIEW_ERRORS = 100
_COUNTS = ("created", "updated", "deleted", "unchanged", "rejected")


def is_dry_run(params: dict[str, Any]) -> bool:
    return bool(params.get("dry_run"))


def preview_errors(failure: TaskFailed) -> list[dict[str, Any]]:
    """Why the real run would fail: the first errors its task collected, as the real run would report them
    (the dry-run task's ListTaskErrors lists every one)."""
    if isinstance(failure, ReportedErrors):
        return [_error_fields(vars(error)) for error in failure.report.errors[:MAX_PREVIEW_ERRORS]]
    return [_error_fields(failure.as_dict())]


def _error_fields(error: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in error.items() if k in _ERROR_FIELDS and v not in (None, "", 0)}


def failed_preview(failure: TaskFailed) -> dict[str, Any]:
    return {
        "would_fail": True,
        "guard_would_stop": failure.reason in GUARDS,
        "errors": preview_errors(failure),
    }


async def dry_run(
    conn: AsyncConnection,
    version_of: Callable[[], Awaitable[int]],
    run: Callable[[], Awaitable[dict[str, Any]]],
    before: Callable[[], Any],
    on_failure: Callable[[TaskFailed], None] | None = None,
) -> dict[str, Any]:
    """Run the task's handler (`run`) in `conn`'s transaction, which the caller rolls back, and return the
    result a dry run stores: `preview` (and an ingestion's id and outcome).

    `version_of` gives the catalog version the task writes; `before()` an async context manager of a
    connection that sees what is committed."""
    since = (await conn.execute(select(clock.of(conn).ago(MARGIN_SECONDS)))).scalar_one()
    try:
        version_id = await version_of()
        result = await run()
    except TaskFailed as failure:
        if on_failure is not None:
            on_failure(failure)
        out: dict[str, Any] = {"preview": failed_preview(failure)}
        outcome = failure.as_dict().get("ingestion")
        if isinstance(outcome, dict):
            out["ingestion_outcome"] = outcome
        return out
    async with before() as committed:
        preview = await compare(conn, committed, version_id, since, result)
    out = {"preview": preview}
    if "ingestion_id" in result:
        out["ingestion_id"] = result["ingestion_id"]
        out["ingestion_outcome"] = {k: v for k, v in result.items() if k != "ingestion_id"}
    return out


async def compare(
    applied: AsyncConnection,
    committed: AsyncConnection,
    version_id: int,
    since: dt.datetime,
    result: dict[str, Any],
) -> dict[str, Any]:
    """The preview of a task whose writes `applied` holds, against the records `committed` sees."""
    preview: dict[str, Any] = {"would_fail": False, "guard_would_stop": False, "errors": []}
    # An ingestion reports totals only: its counts per kind come from the comparison, which then reads all.
    counted = all(isinstance(result.get(name), dict) for name in KIND_NAMES.values())
    deletes = counted or bool(result.get("deleted_item_count"))
    for kind, name in KIND_NAMES.items():
        counts = dict(result[name]) if counted else dict.fromkeys(_COUNTS, 0)
        sample = _KindSample()
        if not counted or counts["created"] or counts["updated"]:
            await sample.written(applied, committed, version_id, kind, since, counts if counted else None)
        if deletes and (not counted or counts["deleted"]):
            await sample.deleted(applied, committed, version_id, kind, counts if counted else None)
        if not counted:
            counts.update(created=sample.created, updated=sample.updated, deleted=sample.deleted_count)
        preview[name] = {
            "counts": {k: counts.get(k, 0) for k in _COUNTS},
            "created_ids": sample.created_ids,
            "deleted_ids": sample.deleted_ids,
            "updated": sample.changes,
        }
    return preview


class _KindSample:
    def __init__(self) -> None:
        self.created = 0
        self.updated = 0
        self.deleted_count = 0
        self.created_ids: list[str] = []
        self.deleted_ids: list[str] = []
        self.changes: list[dict[str, Any]] = []

    async def written(
        self,
        applied: AsyncConnection,
        committed: AsyncConnection,
        version_id: int,
        kind: int,
        since: dt.datetime,
        counts: dict[str, int] | None,
    ) -> None:
        """Records written since the task began: new ones are created, changed ones updated."""
        after: store.Key | None = None
        while True:
            rows = await store.written_since(applied, version_id, kind, since, after, PAGE)
            if not rows:
                return
            after = (rows[-1].record_id, rows[-1].context)
            earlier = await store.rows_by_key(committed, version_id, kind, [(r.record_id, r.context) for r in rows])
            for row in rows:
                old = earlier.get((row.record_id, row.context))
                if old is None:
                    self.created += 1
                    if len(self.created_ids) < SAMPLES:
                        self.created_ids.append(row.record_id)
                    continue
                change = _change(kind, old, row)
                if change is not None:
                    self.updated += 1
                    if len(self.changes) < SAMPLES:
                        self.changes.append(change)
            if counts is not None and len(self.created_ids) >= min(SAMPLES, counts["created"]):
                if len(self.changes) >= min(SAMPLES, counts["updated"]):
                    return

    async def deleted(
        self,
        applied: AsyncConnection,
        committed: AsyncConnection,
        version_id: int,
        kind: int,
        counts: dict[str, int] | None,
    ) -> None:
        """Records the committed view has and the task's transaction no longer has."""
        after: store.Key | None = None
        while True:
            keys = await store.keys_page(committed, version_id, kind, after, PAGE)
            if not keys:
                return
            after = keys[-1]
            present = await store.existing_keys(applied, version_id, kind, keys)
            for key in keys:
                if key not in present:
                    self.deleted_count += 1
                    if len(self.deleted_ids) < SAMPLES:
                        self.deleted_ids.append(key[0])
            if counts is not None and len(self.deleted_ids) >= min(SAMPLES, counts["deleted"]):
                return


def _fields(kind: int, row: Any) -> dict[str, Any]:
    """A record as the fields a change names; unset fields are absent."""
    fields = {
        "name": row.name,
        "suggested_score": row.suggested_score,
        "item_id" if kind == 2 else "parent_id": row.parent_id,
        "parent_ids": row.parent_ids or None,
    }
    shown = {k: v for k, v in fields.items() if v is not None}
    data = row.data if isinstance(row.data, dict) else {}
    shown.update({f"data.{key}": value for key, value in data.items()})
    return shown


def _change(kind: int, old: Any, new: Any) -> dict[str, Any] | None:
    before, after = _fields(kind, old), _fields(kind, new)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if not changed:
        return None
    return {
        "id": new.record_id,
        "context": new.context,
        "changed_fields": changed,
        "before": {k: before[k] for k in changed if k in before},
        "after": {k: after[k] for k in changed if k in after},
    }
