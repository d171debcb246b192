"""What record history costs a sync under other layouts of its tables (README, What record history costs).

The sync's updates are kept in `record_change_batches` (service.store.postgres_change_batches): the layouts of
`record_history` (the indexes) now bear on its deletes and creates only; those of the batches (their arrays'
compression) on its updates.

Each layout gets a scratch database of its own, migrated, its DDL applied, loaded with the synthetic catalog;
then, for `rounds` rounds in alternating order, a sync changing every record with history off and one with
history on (service.bench.history's sync: binary COPY into staging and the set-based sync, as a CSV sync task
runs it), an untimed sync and `VACUUM records` putting the catalog back after each. Prints the best of each.

    python tools/history_layouts.py --items 100000 --rounds 3 current no_task_index primary_key_only
"""

from __future__ import annotations

import argparse
import asyncio

import asyncpg

from service.bench.history import _changed, _sync, vacuum_records
from service.bench.raw import staged_records
from service.bench.runner import empty_version
from service.bench.synthetic import CatalogShape
from service.db.models import RecordChangeBatch

_ALTER = "ALTER TABLE record_change_batches ALTER COLUMN {} SET {};"
_ARRAYS = [c.name for c in RecordChangeBatch.__table__.columns if c.name in ("record_ids", "contexts", "changes")]

_HASH_KEY = (
    "DROP INDEX ix_record_history_record; CREATE INDEX ix_record_history_record ON record_history"
    " (version_id, hashtextextended(record_id || chr(31) || context, kind), id);"
)
LAYOUTS = {
    "current": "",
    # The batches' arrays compressed with pglz (the server's default) or not at all, instead of lz4.
    "batches_pglz": "".join(_ALTER.format(c, "COMPRESSION pglz") for c in _ARRAYS),
    "batches_uncompressed": "".join(_ALTER.format(c, "STORAGE EXTERNAL") for c in _ARRAYS),
    "hash_key": _HASH_KEY,
    "hash_key_brin_task": _HASH_KEY
    + "DROP INDEX ix_record_history_task; CREATE INDEX ix_record_history_task ON record_history USING brin (task_id);",
    "no_task_index": "DROP INDEX ix_record_history_task;",
    "primary_key_only": "DROP INDEX ix_record_history_task; DROP INDEX ix_record_history_record;",
    "no_record_index": "DROP INDEX ix_record_history_record;",
    # A record found per task: new entries land in the newest task's part of the index, not all over it.
    "task_record_key": "DROP INDEX ix_record_history_record; CREATE INDEX ix_record_history_record ON"
    " record_history (task_id, version_id, kind, record_id, context);",
    # One btree (the record's), ids by BRIN: a task's changes would be read by the id range it wrote.
    "record_index_brin_id": "DROP INDEX ix_record_history_task; ALTER TABLE record_history DROP CONSTRAINT"
    " record_history_pkey; CREATE INDEX ix_record_history_id ON record_history USING brin (id);",
    # A record's changes as duplicates of one key: btree deduplication keeps them in one posting list.
    "record_key_dedup": "DROP INDEX ix_record_history_record; CREATE INDEX ix_record_history_record ON record_history"
    " (version_id, kind, record_id, context);",
}


def _dsn(admin: str, database: str) -> str:
    return admin.rsplit("/", 1)[0] + "/" + database


async def _admin(admin: str, sql: str) -> None:
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def measure(admin: str, layout: str, shape: CatalogShape, rounds: int) -> tuple[float, float]:
    """(best seconds history off, best seconds history on) of syncs changing every record, under `layout`."""
    database = f"history_layout_{layout}"
    await _admin(admin, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    await _admin(admin, f"CREATE DATABASE {database}")
    dsn = _dsn(admin, database)
    try:
        version = await empty_version(dsn)
        if LAYOUTS[layout]:
            await _admin(dsn, LAYOUTS[layout])
        await _sync(dsn, version, staged_records(shape), history=False)
        await vacuum_records(dsn)
        times: dict[bool, list[float]] = {False: [], True: []}
        for round_ in range(rounds):
            for history in (False, True) if round_ % 2 == 0 else (True, False):
                times[history].append(await _sync(dsn, version, _changed(shape), history=history))
                await _sync(dsn, version, staged_records(shape), history=False)
                await vacuum_records(dsn)
        off, on = ([round(t, 2) for t in times[history]] for history in (False, True))
        print(f"{layout}: off {off}, on {on}", flush=True)
        return min(times[False]), min(times[True])
    finally:
        await _admin(admin, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("layouts", nargs="+", choices=sorted(LAYOUTS))
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    shape = CatalogShape(items=args.items)
    results = [(layout, *await measure(args.database_url, layout, shape, args.rounds)) for layout in args.layouts]
    for layout, off, on in results:
        print(f"{layout:20} off {off:7.2f} s  on {on:7.2f} s  ratio {on / off:5.2f}")


if __name__ == "__main__":
    asyncio.run(main())
