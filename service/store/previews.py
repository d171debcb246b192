"""The reads a dry run's preview needs (service.domain.previews): the same SQL on both backends.

A dry run compares two views of one catalog version: the task's own transaction, which has applied the write
and will be rolled back, and a second connection, which still sees what is committed (the state before).
Every read is by the records' primary key (version_id, kind, record_id, context), a page at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from service.db.models import Record

# (record_id, context) within one kind.
Key = tuple[str, str]
_ROW = (
    Record.record_id,
    Record.context,
    Record.name,
    Record.suggested_score,
    Record.parent_id,
    Record.parent_ids,
    Record.data,
)


def _after(query: Select, after: Key | None) -> Select:
    if after is None:
        return query
    record_id, context = after
    return query.where(or_(Record.record_id > record_id, and_(Record.record_id == record_id, Record.context > context)))


async def written_since(
    conn: AsyncConnection, version_id: int, kind: int, since: dt.datetime, after: Key | None, limit: int
) -> list[Any]:
    """The records of one kind whose content was written at or after `since` (`updated_at`), in key order."""
    query = (
        select(*_ROW)
        .where(Record.version_id == version_id, Record.kind == kind, Record.updated_at >= since)
        .order_by(Record.record_id, Record.context)
        .limit(limit)
    )
    return list((await conn.execute(_after(query, after))).all())


async def keys_page(conn: AsyncConnection, version_id: int, kind: int, after: Key | None, limit: int) -> list[Key]:
    """The keys of one kind, in key order."""
    query = (
        select(Record.record_id, Record.context)
        .where(Record.version_id == version_id, Record.kind == kind)
        .order_by(Record.record_id, Record.context)
        .limit(limit)
    )
    return [(r[0], r[1]) for r in (await conn.execute(_after(query, after))).all()]


async def rows_by_key(conn: AsyncConnection, version_id: int, kind: int, keys: Sequence[Key]) -> dict[Key, Any]:
    """The records of `keys` that exist, by key."""
    found: dict[Key, Any] = {}
    for context, ids in _chunks(keys):
        rows = await conn.execute(
            select(*_ROW).where(
                Record.version_id == version_id,
                Record.kind == kind,
                Record.context == context,
                Record.record_id.in_(ids),
            )
        )
        found.update({(row.record_id, row.context): row for row in rows})
    return found


async def existing_keys(conn: AsyncConnection, version_id: int, kind: int, keys: Sequence[Key]) -> set[Key]:
    """Which of `keys` exist."""
    found: set[Key] = set()
    for context, ids in _chunks(keys):
        rows = await conn.execute(
            select(Record.record_id).where(
                Record.version_id == version_id,
                Record.kind == kind,
                Record.context == context,
                Record.record_id.in_(ids),
            )
        )
        found.update((row[0], context) for row in rows)
    return found


def _chunks(keys: Sequence[Key], size: int = 500) -> Iterator[tuple[str, list[str]]]:
    """The ids of `keys` per context, `size` at a time (one IN list each)."""
    by_context: dict[str, list[str]] = {}
    for record_id, context in keys:
        by_context.setdefault(context, []).append(record_id)
    for context, ids in by_context.items():
        for start in range(0, len(ids), size):
            yield context, ids[start : start + size]
