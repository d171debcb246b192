"""`catalog-ingest bench retention`: disk use after many full syncs of the same catalog, against one sync's.

The service runs as `catalog-ingest serve` on a scratch PostgreSQL database; each sync is a PUT /v1/catalog of
the same synthetic catalog (items, variations, item groups), waited for until DONE. Disk use is the sum of
pg_total_relation_size (tables, their TOAST and indexes) over the schema, measured after a plain VACUUM (what
autovacuum does between nightly syncs: it makes deleted rows' space reusable and truncates empty pages at a
table's end; it does not compact, as VACUUM FULL would). SQLite: the database file's size after a WAL
checkpoint. Live data is measured too: what the rows themselves hold.

A full sync of an unchanged catalog writes no record: R3's "the sync is every record's last write" is kept by
its kinds' sync mark (service/store/sync_marks.py), not by rewriting each record's op_ts, so on PostgreSQL no
dead row versions pile up between syncs; only the changed records are rewritten. Retention's part is that
nothing else grows (no payload, task or key is kept past its retention).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from service.bench.e2e import csv_upload, running_service
from service.bench.synthetic import CatalogShape
from service.db.engine import create_engine, normalize_url

# The bound the README states and tests/test_retention.py asserts: disk use after many syncs / after one.
MAX_RATIO = 1.5


async def disk_bytes(engine: AsyncEngine) -> int:
    """Bytes the database holds on disk. PostgreSQL: after a plain VACUUM (see the module); SQLite: the file."""
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM"))
            size = await conn.execute(
                text(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')"
                )
            )
            return int(size.scalar_one())
        await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        path = make_url(str(engine.url)).database or ""
        return await asyncio.to_thread(os.path.getsize, path)


async def live_bytes(engine: AsyncEngine) -> int:
    """Bytes of the live data alone, without rewriting anything. PostgreSQL: the sum of the live rows' sizes
    (pg_column_size) over the schema's tables, indexes left out; SQLite: the pages in use (not on the
    freelist)."""
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            tables = await conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
            )
            total = 0
            for (table,) in tables.all():
                size = await conn.execute(text(f'SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM "{table}" t'))
                total += int(size.scalar_one())
            return total
        pages = (await conn.execute(text("PRAGMA page_count"))).scalar_one()
        free = (await conn.execute(text("PRAGMA freelist_count"))).scalar_one()
        page_size = (await conn.execute(text("PRAGMA page_size"))).scalar_one()
        return int((pages - free) * page_size)


async def payload_rows(engine: AsyncEngine) -> int:
    """Payload chunks still stored (of finished tasks, once every sync is DONE)."""
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM task_payloads"))).scalar_one())


@dataclass(frozen=True)
class Growth:
    """Disk use and live data after each sync (index 0: after the first)."""

    disk: list[int]
    live: list[int]
    payload_rows_left: int

    @property
    def ratio(self) -> float:
        """The most disk used after any sync, against the first sync's."""
        return max(self.disk) / self.disk[0]

    @property
    def live_ratio(self) -> float:
        return self.live[-1] / self.live[0]

    def lines(self) -> list[str]:
        mib, syncs = 2**20, len(self.disk)
        return [
            f"disk use: after 1 sync {self.disk[0] / mib:.1f} MiB, at most {max(self.disk) / mib:.1f} MiB after"
            f" any of {syncs}, {self.disk[-1] / mib:.1f} MiB after the last: ratio {self.ratio:.2f}",
            f"live data: after 1 sync {self.live[0] / mib:.1f} MiB, after {syncs} {self.live[-1] / mib:.1f} MiB:"
            f" ratio {self.live_ratio:.2f}",
            f"payload chunks left after {syncs} DONE syncs: {self.payload_rows_left}",
        ]


async def measure(
    engine: AsyncEngine, sync: Callable[[], Awaitable[object]], syncs: int, report: Callable[[str], None] = print
) -> Growth:
    """Run `sync` `syncs` times (each to its task DONE), measuring after each. A plain VACUUM follows every
    sync on PostgreSQL, as autovacuum would between nightly syncs."""
    disk: list[int] = []
    live: list[int] = []
    for n in range(1, syncs + 1):
        started = time.perf_counter()
        await sync()
        seconds = time.perf_counter() - started
        disk.append(await disk_bytes(engine))
        live.append(await live_bytes(engine))
        report(f"sync {n:3}: {seconds:7.2f} s, disk use {disk[-1] / 2**20:8.1f} MiB, live {live[-1] / 2**20:8.1f} MiB")
    return Growth(disk=disk, live=live, payload_rows_left=await payload_rows(engine))


async def _bench(database_url: str, items: int, syncs: int) -> Growth:
    from service.bench.runner import _drop, _dsn, _scratch

    admin_dsn = _dsn(database_url, make_url(normalize_url(database_url)).database or "postgres")
    name = await _scratch(admin_dsn)
    try:
        dsn = _dsn(database_url, name)
        shape = CatalogShape(items=items)
        async with running_service(dsn) as service:
            engine = create_engine(dsn)
            try:
                return await measure(engine, lambda: csv_upload(service, shape), syncs)
            finally:
                await engine.dispose()
    finally:
        await _drop(admin_dsn, name)


def main(database_url: str, items: int, syncs: int) -> int:
    if not database_url or make_url(normalize_url(database_url)).get_backend_name() != "postgresql":
        raise SystemExit("the benchmark needs PostgreSQL: set CATALOG_INGEST_DATABASE_URL or pass --database-url")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    shape = CatalogShape(items=items)
    print(f"{syncs} full syncs of {items:,} items, {shape.variation_count:,} variations, {shape.group_count:,} groups")
    growth = asyncio.run(_bench(database_url, items, syncs))
    for line in growth.lines():
        print(line)
    print(f"ratio={growth.ratio:.2f} live_ratio={growth.live_ratio:.2f} payload_rows_left={growth.payload_rows_left}")
    return 0 if growth.ratio <= MAX_RATIO and growth.live_ratio <= MAX_RATIO and growth.payload_rows_left == 0 else 1
