"""The SQLite backend: its record store, SQL fragments and the operations it runs its own way.

`json_update` and `json_merge_removing_nulls` are functions registered on every connection
(service.db.engine).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from service.db.models import Record
from service.store.batch_item_upsert import batch_item_upsert
from service.store.ports import BatchPurged, RecordStore
from service.store.sqlite import SqliteRecordStore

ITEM = 1
# Ids per IN list: within SQLite's bind-parameter limit.
ID_CHUNK = 500


class SqliteSql:
    empty_object = "'{}'"
    # The task's transaction holds SQLite's one write lock: no other writer can change the rows.
    share_lock = ""
    skip_locked = ""

    def json_array_values(self, json_expr: str, alias: str = "g") -> str:
        return f"json_each(CASE WHEN json_type({json_expr}) = 'array' THEN {json_expr} ELSE '[]' END) AS {alias}"

    def json_member(self, json_expr: str, key: str) -> str:
        return f"json_extract({json_expr}, '$.{key}')"

    def merge_objects(self, left: str, right: str) -> str:
        return f"json_update({left}, {right})"

    def json_differs(self, left: str, right: str) -> str:
        return f"json({left}) IS NOT json({right})"

    def temp_table(self, name: str, columns: str) -> list[str]:
        # SQLite has no ON COMMIT DROP: a table left by an earlier task on this connection goes first.
        return [f"DROP TABLE IF EXISTS temp.{name}", f"CREATE TEMP TABLE {name} ({columns})"]

    def before_link_check(self) -> list[str]:
        return []


_REPLACE_ITEMS = batch_item_upsert(sqlite.insert, func.json_update, modify=False)
_MODIFY_ITEMS = batch_item_upsert(sqlite.insert, func.json_update, modify=True)


class SqliteBackend:
    name = "sqlite"
    sql = SqliteSql()
    one_process = True
    change_batches = None

    async def record_store(self, conn: AsyncConnection, version_id: int) -> RecordStore:
        return SqliteRecordStore(conn, version_id)

    async def write_batch_items(self, session: AsyncSession, modify: bool, rounds: list[list[dict[str, Any]]]) -> None:
        try:
            for round_rows in rounds:
                await session.execute(_MODIFY_ITEMS if modify else _REPLACE_ITEMS, round_rows)
        except IntegrityError as error:
            raise BatchPurged from error

    async def existing_item_ids(
        self, bind: AsyncSession | AsyncConnection, version_id: int, ids: Sequence[str]
    ) -> set[str]:
        # No arrays, and statements prepare cheaply: IN lists within the bind-parameter limit.
        item = select(Record.record_id).where(
            Record.version_id == version_id, Record.kind == ITEM, Record.context == ""
        )
        found: set[str] = set()
        for start in range(0, len(ids), ID_CHUNK):
            rows = await bind.execute(item.where(Record.record_id.in_(list(ids[start : start + ID_CHUNK]))))
            found.update(rows.scalars())
        return found

    def text_list(self, column: str, param: str) -> str:
        # One JSON parameter, so any number of values stays one statement (one SQLite read snapshot).
        return f"{column} IN (SELECT value FROM json_each(:{param}))"

    def bind_text_list(self, values: Sequence[str]) -> Any:
        return orjson.dumps(list(values)).decode()

    async def analyze(self, engine: AsyncEngine, table: str) -> None:
        # Statistics are not what SQLite's plans of these statements hinge on; and a second connection
        # would wait for the task's write lock.
        return None
