"""Which history is past its retention: by id, up to the first kept (record_history's rows and, on PostgreSQL,
record_change_batches)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncConnection


async def expired(conn: AsyncConnection, id_column: Any, changed_at: Any, cutoff: Any) -> ColumnElement[bool]:
    """The rows changed before `cutoff` (an SQL expression of the database clock), as a condition on `id_column`.

    Ids grow with time, so the first row kept (by id) bounds the purge: the delete reads the primary key up to it,
    where a filter on `changed_at` (which has no index) read the whole history at every purge. The few rows older
    than the retention that a concurrent transaction numbered after it wait for a later purge."""
    first_kept = await conn.scalar(select(id_column).where(changed_at >= cutoff).order_by(id_column).limit(1))
    return changed_at < cutoff if first_kept is None else id_column < first_kept
