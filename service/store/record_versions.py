"""Record versions for preconditions: the current version of given records, and dropping staged operations
whose precondition failed. Plain SQL that both backends run alike, on the task's connection (inside its
transaction, after the task's operations were staged in `stage_records`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.db.models import Record

# Ids per IN list: well within SQLite's bind-parameter limit.
ID_CHUNK = 500


async def current_versions(
    conn: AsyncConnection, version_id: int, kind: int, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """{(record_id, context): version} of those of `keys` that exist in the catalog version."""
    wanted = set(keys)
    ids = sorted({record_id for record_id, _ in wanted})
    found: dict[tuple[str, str], int] = {}
    for start in range(0, len(ids), ID_CHUNK):
        # Tasks of one catalog apply one at a time (the claim's FIFO check); the row locks keep the versions
        # read until the task commits even so (PostgreSQL; SQLAlchemy renders nothing on SQLite, whose task
        # transaction holds the one write lock).
        rows = await conn.execute(
            select(Record.record_id, Record.context, Record.version)
            .where(
                Record.version_id == version_id,
                Record.kind == kind,
                Record.record_id.in_(ids[start : start + ID_CHUNK]),
            )
            .with_for_update()
        )
        for record_id, context, version in rows:
            if (record_id, context) in wanted:
                found[(record_id, context)] = version
    return found


async def unstage(conn: AsyncConnection, seqs: Sequence[int]) -> None:
    """Drop the staged operations `seqs`: they will not be applied."""
    statement = text("DELETE FROM stage_records WHERE seq IN :seqs").bindparams(bindparam("seqs", expanding=True))
    for start in range(0, len(seqs), ID_CHUNK):
        await conn.execute(statement, {"seqs": list(seqs[start : start + ID_CHUNK])})
