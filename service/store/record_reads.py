"""Reading records back: by id, and listed a page at a time in (id, context) order. Plain SQL that both
backends run alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.db.models import Record
from service.store.sync_marks import effective

# What service.domain.records.row_to_proto reads.
RECORD_COLUMNS = (
    Record.kind,
    Record.record_id,
    Record.context,
    Record.name,
    Record.suggested_score,
    Record.parent_id,
    Record.parent_ids,
    Record.data,
    # The record's effective op_ts: a full sync since it was written makes it that sync's time.
    literal_column(effective("records"), type_=Record.op_ts.type).label("op_ts"),
    Record.version,
    Record.updated_at,
)


async def get_records(
    bind: AsyncSession | AsyncConnection, version_id: int | None, kind: int, context: str, ids: Sequence[str]
) -> list[Any]:
    """The stored rows of the records `ids` of one kind and context (in no particular order; missing ids
    are left out)."""
    query = select(*RECORD_COLUMNS).where(
        Record.version_id == version_id,
        Record.kind == kind,
        Record.context == context,
        Record.record_id.in_(list(ids)),
    )
    return list((await bind.execute(query)).all())


async def list_records(
    bind: AsyncSession | AsyncConnection,
    version_id: int | None,
    kind: int,
    ids: Sequence[str],
    limit: int,
    *,
    after: tuple[str, str] | None = None,
    offset: int = 0,
) -> tuple[int, list[Any]]:
    """(how many records of the kind there are (only `ids`, when given), up to `limit` of their rows in
    (id, context) order after the position `after` (an (id, context)) or from `offset`)."""
    where = [Record.version_id == version_id, Record.kind == kind]
    if ids:
        where.append(Record.record_id.in_(list(ids)))
    total = (await bind.execute(select(func.count()).select_from(Record).where(*where))).scalar_one()
    query = select(*RECORD_COLUMNS).where(*where).order_by(Record.record_id, Record.context).limit(limit)
    if after is not None:
        last_id, last_context = after
        query = query.where(
            or_(Record.record_id > last_id, and_(Record.record_id == last_id, Record.context > last_context))
        )
    else:
        query = query.offset(offset)
    return total, list((await bind.execute(query)).all())
