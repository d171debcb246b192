"""The bulk per-item API's rate limit: N requests per sliding window per catalog, kept in the database.

One row per catalog holds the times of the requests accepted inside the window. Each check locks the
row (PostgreSQL: FOR UPDATE; SQLite: the INSERT that starts the transaction takes the one write lock),
drops the times that left the window and either records the new request or refuses it. So the limit
holds across any number of server processes, and the log never grows past the limit.
"""

from __future__ import annotations

import math

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db.models import BulkRateLimit
from service.db.upsert import insert_ignore
from service.errors import RateLimited
from service.tasks.queue_backends import queue_store


async def take_slot(
    sessions: async_sessionmaker[AsyncSession], catalog_id: int, catalog_name: str, limit: int, window: float
) -> None:
    """Count one request against the catalog's window, or raise RateLimited saying when to retry."""
    async with sessions() as session:
        # A write first: on SQLite it takes the write lock now, so the read below cannot go stale.
        await session.execute(
            insert_ignore(session, BulkRateLimit, [{"catalog_id": catalog_id, "request_times": []}], ["catalog_id"])
        )
        times = (
            await session.execute(
                select(BulkRateLimit.request_times).where(BulkRateLimit.catalog_id == catalog_id).with_for_update()
            )
        ).scalar_one()
        # UNIX seconds by the database clock, so that servers on several hosts share one clock.
        now = await queue_store(session).epoch_now(session)
        recent = sorted(float(t) for t in times or () if float(t) > now - window)
        if len(recent) >= limit:
            await session.rollback()
            # The request that has to leave the window before one more fits.
            retry_after = recent[-limit] + window - now if limit > 0 else window
            raise RateLimited(
                f"Too many requests: at most {limit} bulk item requests per {window:g} seconds for catalog"
                f" '{catalog_name}' (update and partial update together). Retry in {math.ceil(retry_after)} seconds.",
                retry_after=retry_after,
                metadata={"catalog": catalog_name, "limit": str(limit), "window_seconds": f"{window:g}"},
            )
        recent.append(now)
        await session.execute(
            update(BulkRateLimit).where(BulkRateLimit.catalog_id == catalog_id).values(request_times=recent)
        )
        await session.commit()
