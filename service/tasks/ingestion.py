"""Applying a batch ingestion in the task's one transaction: validate every item, check the thresholds,
write the valid items into the catalog version, delete what the batch deletes, promote when asked.

A FAILURE (thresholds, expired batch...) raises IngestionFailed: the worker rolls everything back and
calls record_ingestion_failure, which shows the outcome on the ingestion in a transaction of its own.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from service.db.models import Catalog, CatalogVersion, Ingestion
from service.domain.catalog_versions import activate
from service.domain.field_types import check_properties, stored_fields
from service.domain.task_errors import ReportedError
from service.error_reasons import ErrorReason
from service.errors import CatalogIngestError, TaskFailed
from service.store.batch_ingest import INVALID_ATTRIBUTES, BatchIngest
from service.store.ports import BatchIngestion
from service.tasks.context import TaskContext
from service.tasks.queue_backends import queue_store
from service.tasks.queue_store import ClaimedTask
from service.timeutil import utcnow

# Below this a poor plan costs about what ANALYZE does (~0.2 s); at 10k items it already cost 1.2 s.
ANALYZE_BATCH_ABOVE = 5000


class IngestionFailed(TaskFailed):
    """The batch cannot be ingested; carries what the ingestion shows (counts, errors, duration)."""

    def __init__(self, message: str, reason: ErrorReason, outcome: dict[str, Any] | None = None) -> None:
        super().__init__(message, reason=reason)
        self.outcome = outcome or {}

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "ingestion": self.outcome}


def _duration(started: float) -> str:
    return f"{time.monotonic() - started:.3f}"


async def _check_batch(conn: AsyncConnection, batch_pk: str, batch_name: str) -> None:
    """The batch must still be live; its row is held (share-locked on PostgreSQL) so a purge waits for this task."""
    if not await queue_store(conn).hold_live_batch(conn, batch_pk, utcnow()):
        raise IngestionFailed(
            f"batch '{batch_name}' expired or was deleted; nothing was changed", ErrorReason.BATCH_NOT_FOUND
        )


async def _validate(ingest: BatchIngestion, schema: Any) -> None:
    fields = stored_fields(schema)
    if not fields:  # a catalog without a schema accepts any attributes
        return
    async for rows in ingest.chunks():
        errors = []
        for row in rows:
            attributes = row.attributes if isinstance(row.attributes, dict) else {}
            problems = check_properties(fields, attributes, partial=bool(row.partial))
            if problems:
                errors.append(
                    {
                        "item_type": row.item_type,
                        "item_id": row.item_id,
                        "context": row.context,
                        "error_type": INVALID_ATTRIBUTES,
                        "message": " ".join(problems),
                    }
                )
        await ingest.add_errors(errors)


def _threshold_failure(config: dict[str, Any], total: int, valid: int) -> str | None:
    min_count = int(config["min_item_count"])
    min_rate = float(config["min_success_rate_percent"])
    if valid < min_count:
        return f"{valid} of {total} items passed validation, fewer than minItemCount {min_count}; nothing was changed"
    rate = 100.0 * valid / total if total else 100.0
    if rate < min_rate:
        return (
            f"{rate:.2f}% of the items passed validation ({valid} of {total}), below minSuccessRatePercent"
            f" {min_rate:g}; nothing was changed"
        )
    return None


async def apply_batch_ingestion(ctx: TaskContext) -> dict[str, Any]:
    started = time.monotonic()
    config = ctx.task.params
    conn = ctx.conn
    exists = (await conn.execute(select(Ingestion.id).where(Ingestion.id == config["ingestion_id"]))).first()
    if exists is None:
        raise IngestionFailed("the ingestion was deleted", ErrorReason.INGESTION_NOT_FOUND)
    await _check_batch(conn, config["batch_pk"], config["batch_import_id"])
    version_id: int = config["version_id"]
    version = (await conn.execute(select(CatalogVersion.version).where(CatalogVersion.id == version_id))).first()
    if version is None:
        raise IngestionFailed(
            f"catalog version '{config['catalog_version']}' was deleted", ErrorReason.CATALOG_VERSION_NOT_FOUND
        )
    schema = (await conn.execute(select(Catalog.field_schema).where(Catalog.id == ctx.task.catalog_id))).scalar_one()

    ingest: BatchIngestion = BatchIngest(conn, config["batch_pk"], version_id)
    await ingest.prepare()
    counts = await ingest.counts()
    total = counts.items
    if total > ANALYZE_BATCH_ABOVE:
        await ingest.refresh_statistics(ctx.engine)
    ctx.progress(total)
    await _validate(ingest, schema)
    await ingest.check_structure(version[0])
    await ingest.check_group_links(version[0])
    error_count, errors = await ingest.error_summary()
    if error_count:
        await _report_item_errors(ctx, ingest, error_count)
    outcome: dict[str, Any] = {"item_error_count": error_count, "item_errors_summary": errors}
    failure = _threshold_failure(config, total, total - error_count)
    if failure is not None:
        raise IngestionFailed(failure, ErrorReason.THRESHOLD_NOT_MET, {**outcome, "duration": _duration(started)})

    # Each of these reads every record of the version: skipped when the batch gives it nothing to do.
    upserted = await ingest.upsert(config["source"])
    if counts.partial:
        upserted += await ingest.merge_partial()
    deleted = await ingest.apply_tombstones() if counts.deleted else 0
    if config["delete_missing_items"]:
        deleted += await ingest.delete_missing(config["source"])
    if deleted:
        # Deleting an item deletes its variants (R2), counted with the deleted items.
        deleted += await ingest.cascade_variations(tombstones_only=not config["delete_missing_items"])
    if config["promote_catalog_on_completion"]:
        try:
            await activate(
                conn, ctx.task.catalog_id, version[0], min_item_count=0, versions_kept=ctx.settings.versions_kept
            )
        except CatalogIngestError as error:
            raise IngestionFailed(error.message, error.reason, outcome) from None
    outcome |= {"upserted_item_count": upserted, "deleted_item_count": deleted, "duration": _duration(started)}
    await conn.execute(
        update(Ingestion)
        .where(Ingestion.id == config["ingestion_id"])
        .values(status="SUCCESS", status_reason=None, summary=outcome, updated_at=utcnow())
    )
    ctx.progress(total, upserted + deleted)
    return {"ingestion_id": config["ingestion_id"], **outcome}


# An item error type (itemErrorsSummary's keys) as the reason a task error gives.
_REASONS = {
    "INVALID_ATTRIBUTES": ErrorReason.INVALID_RECORD,
    "MISSING_PARENT": ErrorReason.MISSING_PARENT_ITEM,
    "MISSING_ITEM": ErrorReason.RECORD_NOT_FOUND,
    "DUPLICATE_ID": ErrorReason.DUPLICATE_ID,
    "MISSING_GROUP": ErrorReason.MISSING_GROUP,
}


async def _report_item_errors(ctx: TaskContext, ingest: BatchIngestion, error_count: int) -> None:
    """Every failed item with its reason (ListIngestionErrors), whether the ingestion then succeeds or fails."""
    for row in await ingest.item_errors(ctx.settings.max_reported_errors):
        attributes = orjson.loads(row.attributes) if isinstance(row.attributes, str | bytes) else row.attributes
        record: dict[str, Any] = {"id": row.item_id, "type": row.item_type, "context": row.context}
        if row.parent_id is not None:
            record["parentId"] = row.parent_id
        if attributes is not None:
            record["attributes"] = attributes
        ctx.errors.add(
            ReportedError(
                reason=_REASONS.get(row.error_type, ErrorReason.INVALID_RECORD),
                message=f"{row.error_type}: {row.message}",
                record_id=row.item_id,
                record=record,
            )
        )
    ctx.errors.counted(error_count)


async def record_ingestion_failure(conn: AsyncConnection, task: ClaimedTask, error: dict[str, Any]) -> None:
    """After the task rolled back: FAILURE for an invalid batch, ERROR for an unexpected error."""
    status = "ERROR" if error.get("reason") == ErrorReason.INTERNAL else "FAILURE"
    outcome = error.get("ingestion")
    await conn.execute(
        update(Ingestion)
        .where(Ingestion.id == task.params.get("ingestion_id"))
        .values(
            status=status,
            status_reason=str(error.get("message", "")),
            summary=outcome if isinstance(outcome, dict) else None,
            updated_at=utcnow(),
        )
    )


async def record_ingestion_dry_run(conn: AsyncConnection, task: ClaimedTask, result: dict[str, Any]) -> None:
    """After a dry run rolled back: the ingestion shows the outcome the real run would have, marked as a dry run
    (its task's result.preview shows what it would change)."""
    preview = result.get("preview", {})
    failed = bool(preview.get("would_fail"))
    errors = preview.get("errors") or [{}]
    outcome = result.get("ingestion_outcome")
    reason = f"dry run, nothing was changed (task {task.id}'s result.preview shows what it would do)"
    if failed:
        reason += f"; the real run would fail: {errors[0].get('message', '')}"
    await conn.execute(
        update(Ingestion)
        .where(Ingestion.id == task.params.get("ingestion_id"))
        .values(
            status="FAILURE" if failed else "SUCCESS",
            status_reason=reason,
            summary=outcome if isinstance(outcome, dict) else None,
            updated_at=utcnow(),
        )
    )
