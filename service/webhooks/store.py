"""The deliveries queue in SQL (claim, outcome, listing) and tenants' default webhooks.

Any number of workers claim due deliveries: FOR UPDATE SKIP LOCKED on PostgreSQL, SQLite's one write lock
otherwise. A claim counts the attempt and pushes the delivery's due time past the attempt's longest
duration (a lease): a worker killed mid-attempt leaves the delivery due again once that passes, and an
attempt's outcome is recorded only while the delivery is still at that attempt. All times are the
database's (service.db.clock).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from service.db import clock
from service.db.backend import backend_of
from service.db.models import Tenant
from service.db.upsert import insert_ignore
from service.webhooks.models import DELIVERED, GAVE_UP, PENDING, TenantWebhook, WebhookDelivery

MAX_ERROR = 500


@dataclass(frozen=True)
class Claimed:
    id: str
    task_id: int
    tenant_id: int
    url: str
    body: bytes
    attempt: int


_ANY_DUE = "SELECT 1 FROM webhook_deliveries WHERE status = 'PENDING' AND next_attempt_at <= {now} LIMIT 1"
_CLAIM = """
UPDATE webhook_deliveries
SET attempts = attempts + 1, last_attempt_at = {now}, next_attempt_at = {lease_end}
WHERE id IN (
    SELECT id FROM webhook_deliveries
    WHERE status = 'PENDING' AND next_attempt_at <= {now}
    ORDER BY next_attempt_at
    LIMIT :limit
    {lock}
)
RETURNING id, task_id, tenant_id, url, body, attempts
"""


async def claim_due(conn: AsyncConnection, limit: int, lease_seconds: float) -> list[Claimed]:
    """Up to `limit` due deliveries, oldest due first, each at its next attempt; committed."""
    db_clock = clock.of(conn)
    # A read first: an idle poll writes nothing (on SQLite an UPDATE would wait for the one write lock a
    # running task holds, and every poll would be a write transaction).
    due = _ANY_DUE.format(now=db_clock.now_sql)
    if (await conn.execute(text(due))).first() is None:
        await conn.rollback()
        return []
    statement = _CLAIM.format(
        now=db_clock.now_sql, lease_end=db_clock.later_sql(lease_seconds), lock=backend_of(conn).sql.skip_locked
    )
    rows = (await conn.execute(text(statement), {"limit": limit})).all()
    await conn.commit()
    return [Claimed(r.id, r.task_id, r.tenant_id, r.url, bytes(r.body), r.attempts) for r in rows]


def _at_attempt(delivery_id: str, attempt: int) -> tuple[ColumnElement[bool], ...]:
    """The delivery, if still pending at this attempt: an outcome that comes after the lease ran out and
    another worker started the next attempt is not recorded over it."""
    return (WebhookDelivery.id == delivery_id, WebhookDelivery.attempts == attempt, WebhookDelivery.status == PENDING)


async def record_delivered(conn: AsyncConnection, delivery_id: str, attempt: int, status_code: int) -> bool:
    now = clock.of(conn).now()
    done = await conn.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.attempts == attempt, WebhookDelivery.status == PENDING
        )
        .values(status=DELIVERED, delivered_at=now, last_status_code=status_code, last_error=None)
    )
    await conn.commit()
    return (done.rowcount or 0) == 1


async def record_failed(
    conn: AsyncConnection,
    delivery_id: str,
    attempt: int,
    *,
    status_code: int | None,
    error: str,
    retry_in: float,
    max_attempts: int,
    max_age_seconds: float,
) -> str | None:
    """Due again in `retry_in` seconds, or GAVE_UP at its last attempt or past its age; the new status
    (None when another attempt of the delivery has started since: a stale outcome is dropped)."""
    db_clock = clock.of(conn)
    # Given up when the next attempt would come after the delivery's maximum age.
    too_old = WebhookDelivery.created_at < db_clock.ago(max(max_age_seconds - retry_in, 0.0))
    status: Any = GAVE_UP if attempt >= max_attempts else case((too_old, GAVE_UP), else_=PENDING)
    changed = await conn.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.attempts == attempt, WebhookDelivery.status == PENDING
        )
        .values(
            status=status,
            next_attempt_at=db_clock.later(retry_in),
            last_status_code=status_code,
            last_error=error[:MAX_ERROR],
        )
        .returning(WebhookDelivery.status)
    )
    new_status = changed.scalar_one_or_none()
    await conn.commit()
    return new_status


async def secret_for(conn: AsyncConnection, tenant_id: int) -> str:
    """The tenant's signing secret, made on first use (two workers racing agree on the first one stored)."""
    found = (
        await conn.execute(select(TenantWebhook.secret).where(TenantWebhook.tenant_id == tenant_id))
    ).scalar_one_or_none()
    if found is not None:
        return found
    row = {"tenant_id": tenant_id, "url": None, "secret": new_secret(), "updated_at": clock.of(conn).now()}
    await conn.execute(insert_ignore(conn, TenantWebhook, [row], ["tenant_id"]))
    await conn.commit()
    return (await conn.execute(select(TenantWebhook.secret).where(TenantWebhook.tenant_id == tenant_id))).scalar_one()


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class TenantDefault:
    tenant: str
    url: str | None
    secret: str | None


async def _tenant_id(session: AsyncSession, tenant: str) -> int:
    found = (await session.execute(select(Tenant.id).where(Tenant.name == tenant))).scalar_one_or_none()
    if found is None:
        raise LookupError(f"tenant '{tenant}' not found (tokens create makes a tenant)")
    return found


async def set_default(session: AsyncSession, tenant: str, url: str, secret: str | None) -> TenantDefault:
    """Set the tenant's default URL; the secret is replaced when given, else kept (or made)."""
    tenant_id = await _tenant_id(session, tenant)
    row = await session.get(TenantWebhook, tenant_id)
    now = clock.of(session).now()
    if row is None:
        row = TenantWebhook(tenant_id=tenant_id, url=url, secret=secret or new_secret(), updated_at=now)
        session.add(row)
    else:
        row.url = url
        row.secret = secret or row.secret
        row.updated_at = now
    await session.commit()
    return await get_default(session, tenant)


async def get_default(session: AsyncSession, tenant: str) -> TenantDefault:
    tenant_id = await _tenant_id(session, tenant)
    row = (
        await session.execute(
            select(TenantWebhook.url, TenantWebhook.secret).where(TenantWebhook.tenant_id == tenant_id)
        )
    ).first()
    return TenantDefault(tenant, row.url if row else None, row.secret if row else None)


async def clear_default(session: AsyncSession, tenant: str) -> bool:
    """Remove the default URL and its secret; whether there was one. Deliveries already queued still go."""
    tenant_id = await _tenant_id(session, tenant)
    removed = await session.execute(delete(TenantWebhook).where(TenantWebhook.tenant_id == tenant_id))
    await session.commit()
    return (removed.rowcount or 0) == 1


@dataclass(frozen=True)
class DeliveryView:
    id: str
    task_id: int
    tenant: str
    url: str
    status: str
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: dt.datetime | None


async def list_deliveries(
    session: AsyncSession, *, task_id: int | None = None, tenant: str | None = None, limit: int = 100
) -> list[DeliveryView]:
    """Newest first; one task's, or one tenant's, or all."""
    query = (
        select(WebhookDelivery, Tenant.name)
        .join(Tenant, Tenant.id == WebhookDelivery.tenant_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .limit(limit)
    )
    if task_id is not None:
        query = query.where(WebhookDelivery.task_id == task_id)
    if tenant is not None:
        query = query.where(Tenant.name == tenant)
    out = []
    for delivery, name in (await session.execute(query)).all():
        out.append(
            DeliveryView(
                id=delivery.id,
                task_id=delivery.task_id,
                tenant=name,
                url=delivery.url,
                status=delivery.status,
                attempts=delivery.attempts,
                created_at=delivery.created_at,
                next_attempt_at=delivery.next_attempt_at if delivery.status == PENDING else None,
                last_attempt_at=delivery.last_attempt_at,
                last_status_code=delivery.last_status_code,
                last_error=delivery.last_error,
                delivered_at=delivery.delivered_at,
            )
        )
    return out
