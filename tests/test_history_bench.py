"""The CI form of `catalog-ingest bench --history` (README, What record history costs): the database's part
and the service's CSV full sync, on a small catalog. The timings are the benchmark's; what is checked here is
what each measured sync did: every record changed once, each change recorded, and an unchanged sync none."""

from __future__ import annotations

import asyncpg

from service.bench.history import print_history, run_history
from service.bench.history_service import print_service_history, run_service_history
from service.bench.runner import empty_version
from service.bench.synthetic import CatalogShape
from service.store.postgres_change_batches import PostgresChangeBatches
from tests.conftest import _pg_url, create_pg_database, drop_pg_database

SHAPE = CatalogShape(items=400)
RECORDS = SHAPE.items + SHAPE.variation_count + SHAPE.group_count


async def test_the_database_part_records_every_change_and_an_unchanged_sync_none(pg_url: str, capsys) -> None:
    run = await run_history(pg_url, SHAPE, await empty_version(pg_url), rounds=1)
    assert run.records == RECORDS == 610
    assert run.changes_per_sync == RECORDS
    assert run.unchanged_changes == 0
    assert min(run.off_seconds, run.on_seconds, run.no_trigger_seconds) > 0
    # One round: the median of the rounds' ratios is that round's.
    assert run.round_ratio == run.on_rounds[0] / run.off_rounds[0]
    print_history(run)
    out = capsys.readouterr().out
    assert f"a full sync changing all {RECORDS:,} records" in out
    assert f"ratio, median of rounds {run.round_ratio:9.2f}" in out


async def test_the_service_part_syncs_every_record_changed_with_history_on_and_off(
    pg_url: str, pg_template: str, capsys
) -> None:
    off = await create_pg_database(template=pg_template)
    try:
        run = await run_service_history(pg_url, _pg_url(off), SHAPE, rounds=1)
        # The service measured with history off wrote none, its syncs included.
        connection = await asyncpg.connect(_pg_url(off))
        try:
            assert await connection.fetchval(PostgresChangeBatches.count_sql) == 0
            assert await connection.fetchval("SELECT count(*) FROM records") == RECORDS
        finally:
            await connection.close()
    finally:
        await drop_pg_database(off)
    assert run.records == RECORDS
    # The changed catalog changes every record: history on records one change each.
    assert run.changes_per_sync == RECORDS
    assert run.off_seconds > 0 and run.on_seconds > 0
    print_service_history(run)
    assert "the service's CSV full sync changing all 610 records" in capsys.readouterr().out
