"""PostgreSQL: a batch's item rows by binary COPY into a temporary staging table, then one upsert per round.

Same semantics as the multi-row INSERT ... ON CONFLICT of service.domain.batch_items (which SQLite and small writes
keep). For a stream's chunks of ~1,000 items the write is ~1.25x faster: what remains is mostly the upsert itself
(two indexes, the foreign key check) and the items' checks.

A batch being filled is mostly only added to: adds and deletes of items it does not hold yet (one round) are
first copied straight into batch_items, under a savepoint. A new row is exactly what the upsert would insert;
if any item is already there the COPY fails on the primary key, the savepoint is rolled back and the chunk takes
the staged upsert (measured: inserting 1,000 new rows 34 ms against the upsert's 41 ms, and no staging COPY;
the stream's PostgreSQL CPU -12%).
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from service.store.postgres import raw_connection

_COLUMNS = ("batch_id", "item_type", "item_id", "context", "parent_id", "attributes", "deleted", "partial", "op_ts")
_STAGE_COLUMNS = (*_COLUMNS, "round")
_LIST = ", ".join(_COLUMNS)
# Kept by the connection across transactions (created once), emptied by every commit; a rollback that created
# it drops it, and IF NOT EXISTS creates it again.
_CREATE_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS batch_items_stage (LIKE batch_items INCLUDING DEFAULTS, round int NOT NULL)"
    " ON COMMIT DELETE ROWS"
)
_UPSERT = (
    f"INSERT INTO batch_items AS t ({_LIST}) SELECT {_LIST} FROM batch_items_stage WHERE round = $1"
    " ON CONFLICT (batch_id, item_type, item_id, context) DO UPDATE SET {set} WHERE {where}"
)
# Exactly the SET and WHERE of service.store.batch_item_upsert.
_REPLACE = _UPSERT.format(
    set="parent_id = excluded.parent_id, attributes = excluded.attributes, deleted = excluded.deleted,"
    " partial = excluded.partial, op_ts = excluded.op_ts",
    where="excluded.op_ts >= t.op_ts",
)
# A modification needs an item: one that arrives after the item's deletion changes nothing.
_MODIFY = _UPSERT.format(
    set="parent_id = coalesce(excluded.parent_id, t.parent_id),"
    " attributes = coalesce(t.attributes, '{}'::jsonb) || excluded.attributes, op_ts = excluded.op_ts",
    where="excluded.op_ts >= t.op_ts AND t.deleted IS false",
)


def _record(row: dict[str, Any], round_: int) -> tuple[Any, ...]:
    attributes = row["attributes"]
    # asyncpg's binary jsonb codec takes the JSON text.
    text = None if attributes is None else orjson.dumps(attributes).decode()
    return (*(row[c] for c in _COLUMNS[:5]), text, row["deleted"], row["partial"], row["op_ts"], round_)


async def write_rounds(conn: AsyncConnection, modify: bool, rounds: list[list[dict[str, Any]]]) -> None:
    """Stage every round's rows with one COPY, then apply the rounds in order (each touches an item at most once).
    A purged batch raises asyncpg.ForeignKeyViolationError."""
    raw = await raw_connection(conn)
    if not modify and len(rounds) == 1 and await _append(raw, rounds[0]):
        return
    await raw.execute(_CREATE_STAGE)
    records = [_record(row, n) for n, rows in enumerate(rounds) for row in rows]
    await raw.copy_records_to_table("batch_items_stage", records=records, columns=_STAGE_COLUMNS)
    statement = _MODIFY if modify else _REPLACE
    for n in range(len(rounds)):
        await raw.execute(statement, n)


async def _append(raw: asyncpg.Connection, rows: list[dict[str, Any]]) -> bool:
    """COPY rows of items the batch does not hold straight into batch_items; False (nothing written) when one of
    them is there already. Each item is in `rows` once (a round), so the primary key only meets stored rows."""
    records = [_record(row, 0)[:-1] for row in rows]
    try:
        async with raw.transaction():  # a savepoint: a conflict undoes only this COPY
            await raw.copy_records_to_table("batch_items", records=records, columns=_COLUMNS)
    except asyncpg.UniqueViolationError:
        return False
    return True
