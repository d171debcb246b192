"""Batch ingestions: created with their task in one transaction, read back, listed, deleted.

An ingestion is RUNNING while its task is queued or applied, then SUCCESS, FAILURE (the batch is
invalid: a threshold was missed, the batch expired...) or ERROR (an unexpected error); the task
writes SUCCESS in its own transaction, and the failure hook (service.tasks.ingestion) the others.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import Catalog, Ingestion, Task
from service.domain import idempotency
from service.domain.batches import get_live_batch
from service.domain.catalog_versions import get_version, parse_version
from service.error_reasons import ErrorReason
from service.errors import FailedPrecondition, InvalidArgument, NotFound
from service.tasks import queue
from service.tasks.status import TaskType
from service.timeutil import utcnow

TASK_TYPE = TaskType.BATCH_INGESTION
STATUSES = ("RUNNING", "SUCCESS", "FAILURE", "ERROR")


@dataclass(frozen=True)
class IngestionRequest:
    batch_import_id: str
    catalog_version: str
    min_item_count: int
    min_success_rate_percent: float
    source: str
    delete_missing_items: bool
    promote_catalog_on_completion: bool


def _check(request: IngestionRequest) -> None:
    violations = []
    if request.min_item_count < 0:
        violations.append(("minItemCount", "must not be negative"))
    if not 0 <= request.min_success_rate_percent <= 100:
        violations.append(("minSuccessRatePercent", "must be between 0 and 100"))
    if violations:
        field, description = violations[0]
        raise InvalidArgument(f"{field} {description}", field_violations=violations)
    if not request.catalog_version:
        raise InvalidArgument("catalogVersion is required", field_violations=[("catalogVersion", "required")])


async def create_ingestion(
    session: AsyncSession,
    *,
    tenant_id: int,
    catalog: Catalog,
    request: IngestionRequest,
    submitted_by: int | None,
    dry_run: bool = False,
    once: idempotency.Idempotency | None = None,
    digest: str = "",
) -> Ingestion:
    """Check the version and the batch exist, then store the ingestion and its task (durable before acknowledged).

    A dry run's task rolls its work back (service.domain.previews). With an idempotency key (`once`, the request's
    hash `digest`) a retry of the same request answers with the ingestion of the earlier one."""
    _check(request)
    if once is not None:
        earlier = await once.earlier(session)
        if earlier is not None:
            return await _ingestion_of_task(session, once.answer(earlier, digest))
    number = parse_version(request.catalog_version, "catalogVersion")
    version = await get_version(session, catalog.id, number)
    batch = await get_live_batch(session, catalog.id, request.batch_import_id or str(number))
    # End the read transaction: on SQLite the writes below must start a transaction of their own.
    await session.commit()
    configuration = {
        "batch_import_id": batch.name,
        "catalog_version": str(number),
        "min_item_count": request.min_item_count,
        "min_success_rate_percent": request.min_success_rate_percent,
        "source": request.source,
        "delete_missing_items": request.delete_missing_items,
        "promote_catalog_on_completion": request.promote_catalog_on_completion,
    }
    ingestion_id = uuid.uuid4().hex
    params = {"ingestion_id": ingestion_id, "batch_pk": batch.id, "version_id": version.id, **configuration}
    if dry_run:
        params["dry_run"] = True

    async def create() -> Ingestion:
        task = await queue.enqueue(
            session,
            tenant_id=tenant_id,
            catalog_id=catalog.id,
            task_type=TASK_TYPE,
            params=params,
            submitted_by=submitted_by,
            idempotency_key=once.key if once else None,
            request_hash=digest or None,
            commit=False,
        )
        return await _store_ingestion(session, ingestion_id, catalog, batch.id, task.id, configuration)

    opened = await idempotency.open_once(session, once, create)
    if isinstance(opened, idempotency.Earlier):
        assert once is not None
        return await _ingestion_of_task(session, once.answer(opened, digest))
    return opened


async def _ingestion_of_task(session: AsyncSession, task_id: int) -> Ingestion:
    ingestion = (await session.scalars(select(Ingestion).where(Ingestion.task_id == task_id))).first()
    if ingestion is None:
        raise _not_found(f"of task {task_id}")
    return ingestion


async def _store_ingestion(
    session: AsyncSession,
    ingestion_id: str,
    catalog: Catalog,
    batch_id: str,
    task_id: int,
    configuration: dict[str, object],
) -> Ingestion:
    now = utcnow()
    ingestion = Ingestion(
        id=ingestion_id,
        catalog_id=catalog.id,
        batch_id=batch_id,
        task_id=task_id,
        configuration=configuration,
        status="RUNNING",
        created_at=now,
        updated_at=now,
    )
    session.add(ingestion)
    await session.commit()
    return ingestion


def _not_found(ingestion_id: str) -> NotFound:
    return NotFound(f"ingestion '{ingestion_id}' not found", reason=ErrorReason.INGESTION_NOT_FOUND)


async def get_ingestion(session: AsyncSession, catalog_id: int | None, ingestion_id: str) -> Ingestion:
    """Another environment's (or tenant's) ingestion is NOT_FOUND, exactly like one that does not exist."""
    ingestion = (
        await session.execute(
            select(Ingestion)
            .where(Ingestion.id == ingestion_id, Ingestion.catalog_id == catalog_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if ingestion is None or catalog_id is None:
        raise _not_found(ingestion_id)
    return ingestion


async def list_ingestions(
    session: AsyncSession, tenant_id: int, environments: Sequence[str], lookback_ms: int, status: str | None
) -> list[tuple[Ingestion, str]]:
    """(ingestion, environment) of the tenant, newest first."""
    query = (
        select(Ingestion, Catalog.name)
        .join(Catalog, Catalog.id == Ingestion.catalog_id)
        .where(Catalog.tenant_id == tenant_id)
        .order_by(Ingestion.created_at.desc(), Ingestion.id)
    )
    if environments:
        query = query.where(Catalog.name.in_(list(environments)))
    if lookback_ms > 0:
        try:
            query = query.where(Ingestion.created_at >= utcnow() - dt.timedelta(milliseconds=lookback_ms))
        except OverflowError:
            pass  # a window reaching past year 1 excludes nothing
    if status:
        query = query.where(Ingestion.status == status)
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def delete_ingestion(session: AsyncSession, catalog_id: int | None, ingestion_id: str) -> None:
    """A queued ingestion's task is canceled with it; one being applied cannot be deleted."""
    ingestion = await get_ingestion(session, catalog_id, ingestion_id)
    if ingestion.status == "RUNNING" and ingestion.task_id is not None:
        task = (await session.execute(select(Task).where(Task.id == ingestion.task_id))).scalar_one_or_none()
        await session.commit()
        if task is not None and task.status in queue.UNFINISHED:
            try:
                await queue.cancel(session, task.tenant_id, task.id)
            except FailedPrecondition:
                raise FailedPrecondition(
                    f"ingestion '{ingestion_id}' is being applied; delete it once it has finished",
                    reason=ErrorReason.INGESTION_RUNNING,
                ) from None
    await session.execute(delete(Ingestion).where(Ingestion.id == ingestion_id))
    await session.commit()


def summary_of(ingestion: Ingestion) -> dict[str, Any]:
    return ingestion.summary if isinstance(ingestion.summary, dict) else {}
