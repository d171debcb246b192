"""The delivery of a finished task, inserted in the transaction that finishes it.

The task's finishing commit and its delivery are one: a task is never finished without its delivery, nor
a delivery sent for a task whose outcome was rolled back. The body is the task's JSON as GET /v1/tasks/{id}
shows it, rendered now, so every attempt sends the same bytes (and so the same signature input).
"""

from __future__ import annotations

import uuid

import orjson
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from catalog_ingest_client.jsonshape import message_to_json
from service.db import clock
from service.db.models import Catalog, Task
from service.domain.task_views import task_to_proto
from service.webhooks.models import PENDING, TenantWebhook, WebhookDelivery


async def enqueue(conn: AsyncConnection, task_id: int) -> str | None:
    """A delivery to the task's notification_url, else to its tenant's default URL; None when it has neither.

    Call it in the transaction that finishes the task, after the task's row was updated."""
    row = (
        await conn.execute(
            select(Task.__table__, Catalog.name.label("section"), TenantWebhook.url.label("default_url"))
            .join(Catalog, Catalog.id == Task.catalog_id)
            .outerjoin(TenantWebhook, TenantWebhook.tenant_id == Task.tenant_id)
            .where(Task.id == task_id)
        )
    ).first()
    if row is None:
        return None
    url = row.notification_url or row.default_url
    if not url:
        return None
    # The row has every column of Task, which is all task_to_proto reads.
    body = orjson.dumps(message_to_json(task_to_proto(row, row.section)))  # type: ignore[arg-type]
    delivery_id = str(uuid.uuid4())
    now = clock.of(conn).now()
    await conn.execute(
        insert(WebhookDelivery).values(
            id=delivery_id,
            task_id=row.id,
            tenant_id=row.tenant_id,
            url=url,
            body=body,
            status=PENDING,
            created_at=now,
            next_attempt_at=now,
        )
    )
    return delivery_id
