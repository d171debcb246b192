"""Snapshots of the catalog tables: what no refused request may change, read in one statement."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from service.db.models import Base
from tests.helpers import eventually

# The catalog: what no refused request may change. Tasks are compared by their highest id only.
SHOWN = 300
CATALOG_TABLES = ("catalogs", "catalog_versions", "records", "batches", "batch_items", "ingestions")


@dataclass
class Snapshot:
    tables: dict[str, list[str]]
    last_task_id: int

    def diff(self, other: Snapshot, new_catalogs: bool = False) -> list[str]:
        """What changed; with `new_catalogs`, a catalog (and its first version) that a write created at
        acknowledgement, empty, is not a change (rules R9: a write creates its catalog)."""
        changed = []
        for table, rows in self.tables.items():
            after = other.tables[table]
            if new_catalogs and table in ("catalogs", "catalog_versions") and set(rows) <= set(after):
                continue
            if rows != after:
                gone = sorted(set(rows) - set(after))[:2]
                new = sorted(set(after) - set(rows))[:2]
                changed.append(f"{table}: -{gone} +{new}"[:SHOWN])
        return changed


def _snapshot_sql(dialect: str) -> str:
    """One statement that reads every catalog table as sorted text rows, the last task id and the number of
    unfinished tasks: one round trip per snapshot keeps an example cheap."""
    parts = []
    for table in CATALOG_TABLES:
        columns = Base.metadata.tables[table].columns.keys()
        if dialect == "postgresql":
            row = "concat_ws('|', " + ", ".join(f"quote_nullable({c}::text)" for c in columns) + ")"
            agg = f"(SELECT coalesce(string_agg(r, E'\\n' ORDER BY r), '') FROM (SELECT {row} AS r FROM {table}) s)"
        else:
            row = " || '|' || ".join(f"quote({c})" for c in columns)
            agg = f"(SELECT coalesce(group_concat(r, char(10)), '') FROM (SELECT {row} AS r FROM {table} ORDER BY r))"
        parts.append(f"{agg} AS {table}")
    # A PENDING task is an upload still streaming, not a task yet (service.tasks.queue): not counted.
    parts.append("(SELECT coalesce(max(id), 0) FROM tasks WHERE status <> 'PENDING') AS last_task_id")
    parts.append("(SELECT count(*) FROM tasks WHERE status IN ('QUEUED', 'IN_PROGRESS')) AS unfinished")
    return "SELECT " + ", ".join(parts)


async def snapshot(stack: Any, timeout: float = 30.0) -> Snapshot:
    """The catalog tables once no task is queued or running (a snapshot never catches a task half done)."""
    sql = text(_snapshot_sql(stack.engine.dialect.name))
    deadline = time.monotonic() + timeout
    while True:
        async with stack.engine.connect() as conn:
            row = (await conn.execute(sql)).one()._mapping
        if row["unfinished"] == 0:
            tables = {t: row[t].split("\n") if row[t] else [] for t in CATALOG_TABLES}
            return Snapshot(tables, int(row["last_task_id"]))
        if time.monotonic() > deadline:
            raise AssertionError(f"tasks still unfinished after {timeout}s")
        await asyncio.sleep(0.02)


async def rows_of(stack: Any, table: str, where: str = "", **params: Any) -> list[dict[str, Any]]:
    async with stack.engine.connect() as conn:
        result = await conn.execute(text(f"SELECT * FROM {table} {where}"), params)
        return [dict(row._mapping) for row in result]


async def wait_quiet(stack: Any, timeout: float = 30.0) -> None:
    """Until no task is queued or running, so a snapshot is not taken in the middle of one."""

    async def unfinished() -> int:
        async with stack.engine.connect() as conn:
            result = await conn.execute(text("SELECT count(*) FROM tasks WHERE status IN ('QUEUED', 'IN_PROGRESS')"))
            return int(result.scalar_one())

    await eventually(unfinished, lambda n: n == 0, timeout)
