"""How fast record history reads once a catalog has a history (README, What record history costs).

A scratch database, migrated, loaded with the synthetic catalog with history on (a CREATE per record), then two
full syncs changing every record (service.bench.history's sync: the UPDATEs kept in batches), `VACUUM ANALYZE`.
Then, through service.store.record_history as the API reads it: one random item's history (its 3 changes) 200
times after 20 to warm up, p50 and p95; and the syncs' task's changes page by page, 1,000 a page, 20 pages.

    python tools/history_reads.py --items 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time

import asyncpg

from service.bench.history import _changed, _sync
from service.bench.raw import staged_records
from service.bench.runner import _drop, _dsn, _scratch, empty_version
from service.bench.synthetic import CatalogShape
from service.db.engine import create_engine
from service.store import record_history

_WARM, _READS, _PAGES = 20, 200, 20
_BENCH_TASK = 0  # the task service.bench.history's sync declares as the writer


async def measure(admin: str, shape: CatalogShape) -> None:
    database = await _scratch(admin)
    dsn = _dsn(admin, database)
    try:
        version = await empty_version(dsn)
        for records in (staged_records(shape), _changed(shape), staged_records(shape)):
            await _sync(dsn, version, records, history=True)
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute("VACUUM ANALYZE")
            batches, size = await connection.fetchrow(
                "SELECT count(*), pg_size_pretty(pg_total_relation_size('record_change_batches'))"
                " FROM record_change_batches"
            )
        finally:
            await connection.close()
        print(f"{batches:,} batches, {size} with their indexes", flush=True)
        engine = create_engine(dsn)
        rng = random.Random(7)
        try:
            async with engine.connect() as conn:
                reads: list[float] = []
                for n in range(_WARM + _READS):
                    started = time.perf_counter()
                    changes = await record_history.record_changes(
                        conn, version, 1, f"item-{rng.randrange(shape.items)}", "", 50
                    )
                    if n >= _WARM:
                        reads.append(time.perf_counter() - started)
                    assert len(changes) == 3, changes
                reads.sort()
                p50, p95 = statistics.median(reads), reads[int(len(reads) * 0.95)]
                print(f"a record's history: p50 {p50 * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms", flush=True)
                pages: list[float] = []
                after = None
                for _ in range(_PAGES):
                    started = time.perf_counter()
                    page = await record_history.task_changes(conn, _BENCH_TASK, 1000, after_id=after)
                    pages.append(time.perf_counter() - started)
                    after = page[-1].id
                print(f"a task's changes: {statistics.median(pages) * 1000:.1f} ms a page of 1,000 (median)")
        finally:
            await engine.dispose()
    finally:
        await _drop(admin, database)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    await measure(args.database_url, CatalogShape(items=args.items))


if __name__ == "__main__":
    asyncio.run(main())
