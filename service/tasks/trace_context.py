"""The request a task comes from: stored when it is submitted, read back when a worker runs it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service import tracing
from service.db.models import Catalog, Task, Tenant
from service.interceptors import request_id

# The width of the tasks.request_id and tasks.traceparent columns. The gateway passes ids of at most 128
# characters; a gRPC caller may send a longer one, which is cut rather than refused (it only labels logs).
MAX_STORED = 128


def submitted_from() -> dict[str, str | None]:
    """Column values for a task submitted in the current call: its request id and trace context."""
    traceparent = tracing.current_traceparent()
    return {
        "request_id": request_id.get()[:MAX_STORED] or None,
        "traceparent": traceparent if traceparent and len(traceparent) <= MAX_STORED else None,
    }


@dataclass(frozen=True)
class TaskOrigin:
    request_id: str | None
    traceparent: str | None
    tenant: str
    catalog: str


async def origin(bind: AsyncEngine | AsyncConnection, task_id: int) -> TaskOrigin | None:
    """Where a claimed task comes from (one read by primary key, on `bind` or a connection of it; None if it is
    gone already)."""
    query = (
        select(Task.request_id, Task.traceparent, Tenant.name, Catalog.name)
        .join(Tenant, Tenant.id == Task.tenant_id)
        .join(Catalog, Catalog.id == Task.catalog_id)
        .where(Task.id == task_id)
    )
    if isinstance(bind, AsyncConnection):
        row = (await bind.execute(query)).one_or_none()
    else:
        async with bind.connect() as conn:
            row = (await conn.execute(query)).one_or_none()
    return None if row is None else TaskOrigin(*row)
