"""The PostgreSQL backend: its record store, SQL fragments and the operations it runs its own way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy import Text, any_, bindparam, cast, func, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from service.db.models import Record
from service.store.batch_item_upsert import batch_item_upsert
from service.store.batch_items_pg import write_rounds
from service.store.ports import BatchPurged, RecordStore
from service.store.postgres import PostgresRecordStore, raw_connection
from service.store.postgres_change_batches import PostgresChangeBatches

# From this many batch item rows, COPY into a staging table beats multi-row VALUES (measured: even at 30-50
# rows, 1.2x at 100, 1.25x at 1,000); below it the extra round trips cost more than they save.
COPY_FROM_ROWS = 50
ITEM = 1


class PostgresSql:
    empty_object = "'{}'::jsonb"
    share_lock = " FOR SHARE"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def json_array_values(self, json_expr: str, alias: str = "g") -> str:
        return (
            f"jsonb_array_elements_text(CASE WHEN jsonb_typeof({json_expr}) = 'array' THEN {json_expr}"
            f" ELSE '[]'::jsonb END) AS {alias}(value)"
        )

    def json_member(self, json_expr: str, key: str) -> str:
        return f"{json_expr}->'{key}'"

    def merge_objects(self, left: str, right: str) -> str:
        return f"{left} || {right}"

    def json_differs(self, left: str, right: str) -> str:
        return f"{left} IS DISTINCT FROM {right}"

    def temp_table(self, name: str, columns: str) -> list[str]:
        return [f"CREATE TEMP TABLE {name} ({columns}) ON COMMIT DROP"]

    def before_link_check(self) -> list[str]:
        # The planner takes each array for 100 elements: at 200k items it expects 20M links and spends
        # seconds compiling the statement with JIT for a scan that takes a fraction of that.
        return ["SET LOCAL jit = off"]


def _merge_attributes(stored: Any, given: Any) -> Any:
    return func.coalesce(stored, cast("{}", JSONB)).op("||")(given)


_REPLACE_ITEMS = batch_item_upsert(postgresql.insert, _merge_attributes, modify=False)
_MODIFY_ITEMS = batch_item_upsert(postgresql.insert, _merge_attributes, modify=True)


class PostgresBackend:
    name = "postgresql"
    sql = PostgresSql()
    one_process = False
    change_batches = PostgresChangeBatches()

    async def record_store(self, conn: AsyncConnection, version_id: int) -> RecordStore:
        return PostgresRecordStore(await raw_connection(conn), version_id)

    async def write_batch_items(self, session: AsyncSession, modify: bool, rounds: list[list[dict[str, Any]]]) -> None:
        try:
            if sum(len(r) for r in rounds) >= COPY_FROM_ROWS:
                await write_rounds(await session.connection(), modify, rounds)
                return
            for round_rows in rounds:
                await session.execute(_MODIFY_ITEMS if modify else _REPLACE_ITEMS, round_rows)
        except (IntegrityError, asyncpg.IntegrityConstraintViolationError) as error:
            raise BatchPurged from error

    async def existing_item_ids(
        self, bind: AsyncSession | AsyncConnection, version_id: int, ids: Sequence[str]
    ) -> set[str]:
        # One statement with the ids as one array parameter: an IN list of hundreds of parameters is a new
        # statement to compile and prepare each time (0.8 s for 5,000 ids against 30 ms).
        query = select(Record.record_id).where(
            Record.version_id == version_id,
            Record.kind == ITEM,
            Record.context == "",
            Record.record_id == any_(bindparam("ids", type_=ARRAY(Text))),
        )
        return set((await bind.execute(query, {"ids": list(ids)})).scalars())

    def text_list(self, column: str, param: str) -> str:
        # One array parameter: one statement compiled once, whatever the number of values.
        return f"{column} = ANY(CAST(:{param} AS text[]))"

    def bind_text_list(self, values: Sequence[str]) -> Any:
        return list(values)

    async def analyze(self, engine: AsyncEngine, table: str) -> None:
        async with engine.connect() as conn:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text(f"ANALYZE {table}"))
