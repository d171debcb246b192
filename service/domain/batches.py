"""Batches: staging areas named per catalog, that expire and are purged by the workers."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.db.models import Batch
from service.error_reasons import ErrorReason
from service.errors import NotFound
from service.timeutil import utcnow


def new_batch(catalog_id: int, expiry_seconds: float, name: str | None = None) -> Batch:
    """A batch to add to a session; unnamed batches are named by their (random) id."""
    now = utcnow()
    batch_id = uuid.uuid4().hex
    return Batch(
        id=batch_id,
        name=name or batch_id,
        catalog_id=catalog_id,
        created_at=now,
        expires_at=now + dt.timedelta(seconds=expiry_seconds),
    )


async def find_live_batch(session: AsyncSession | AsyncConnection, catalog_id: int, name: str) -> Batch | None:
    row = (
        await session.execute(
            select(Batch.__table__).where(
                Batch.catalog_id == catalog_id, Batch.name == name, Batch.expires_at > utcnow()
            )
        )
    ).first()
    if row is None:
        return None
    return Batch(
        id=row.id, name=row.name, catalog_id=row.catalog_id, created_at=row.created_at, expires_at=row.expires_at
    )


async def live_batches(session: AsyncSession | AsyncConnection, catalog_id: int) -> list[Batch]:
    """The catalog's batches that have not expired, newest first."""
    rows = await session.execute(
        select(Batch)
        .where(Batch.catalog_id == catalog_id, Batch.expires_at > utcnow())
        .order_by(Batch.created_at.desc(), Batch.id)
    )
    return list(rows.scalars())


async def get_live_batch(session: AsyncSession | AsyncConnection, catalog_id: int | None, name: str) -> Batch:
    """The batch, or NOT_FOUND when it does not exist in this environment or has expired."""
    batch = await find_live_batch(session, catalog_id, name) if catalog_id is not None and name else None
    if batch is None:
        raise NotFound(
            f"batch '{name}' not found in this environment (batches expire after their lifetime)",
            reason=ErrorReason.BATCH_NOT_FOUND,
            metadata={"batch_id": name},
        )
    return batch


async def purge_expired(conn: AsyncConnection) -> int:
    """Delete expired batches and their items (one statement; the items go by cascade)."""
    gone = await conn.execute(delete(Batch).where(Batch.expires_at <= utcnow()))
    await conn.commit()
    return gone.rowcount or 0
