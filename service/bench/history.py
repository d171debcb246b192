"""`catalog-ingest bench --history`: what record history costs a full sync (issue 15), on the raw pipeline.

On one scratch PostgreSQL database: a first load of the synthetic catalog, then full syncs (binary COPY into
staging and the set-based sync with the sync's `as_of`, as a CSV sync task and service.bench.raw run it) that
change every record (each record's name and, for items and variations, its `url`), each in one transaction:

- history off: the transaction declares no writer (CATALOG_INGEST_HISTORY_RETENTION_SECONDS=0): nothing is
  written;
- history on: the transaction declares its task as the worker does (service.store.record_history), and every
  changed record gets its change row (written by the sync's statements, service.store.postgres_history);
- without the triggers at all (dropped on the scratch database): the cost before issue 15, for reference.

Between two measured syncs an untimed one puts the catalog back and VACUUM clears the dead rows, so each
measured sync changes the same records from the same state (without it each sync found more dead rows than
the one before, and whichever kind ran later looked slower); each round runs the kinds in another order.
Then a sync of the unchanged catalog with history on: it must write no history. The figures are the best of
`rounds` syncs of each kind (the machine is shared and noisy), and the ratio also the median of the rounds' own
(each round's off and on ran back to back).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg

from service.bench.raw import StatementTimings, staged_records
from service.bench.synthetic import CatalogShape
from service.store.postgres import PostgresRecordStore
from service.store.postgres_change_batches import PostgresChangeBatches
from service.store.staged import StagedRecord
from service.timeutil import utcnow

# The bound issue 15 sets: a sync that changes everything costs at most this much more with history on.
MAX_RATIO = 1.25
_TRIGGERS = ("record_history_on_insert", "record_history_on_update", "record_history_on_delete")


@dataclass(frozen=True)
class OnOffRun:
    """The syncs changing every record with history off and on, a pair each round (here, and
    service.bench.history_service)."""

    records: int
    off_rounds: tuple[float, ...]
    on_rounds: tuple[float, ...]
    changes_per_sync: int

    @property
    def off_seconds(self) -> float:
        return min(self.off_rounds)

    @property
    def on_seconds(self) -> float:
        return min(self.on_rounds)

    @property
    def ratio(self) -> float:
        """The best on over the best off."""
        return self.on_seconds / self.off_seconds

    @property
    def round_ratio(self) -> float:
        """The median of each round's on over its off: the pair ran back to back, so a slow spell of the machine
        weighs on both, where one lucky sync moves the ratio of the best by 0.1."""
        return statistics.median(on / off for on, off in zip(self.on_rounds, self.off_rounds, strict=True))

    def print_on_off(self) -> None:
        print(f"  history off              {self.off_seconds:8.2f} s", flush=True)
        print(f"  history on               {self.on_seconds:8.2f} s  ({self.changes_per_sync:,} changes)", flush=True)
        for name, ratio in (("ratio on / off, best", self.ratio), ("ratio, median of rounds", self.round_ratio)):
            verdict = "within" if ratio <= MAX_RATIO else "OVER"
            print(f"  {name:24} {ratio:8.2f}   ({verdict} the {MAX_RATIO}x bound)", flush=True)


@dataclass(frozen=True)
class HistoryRun(OnOffRun):
    no_trigger_seconds: float
    unchanged_seconds: float
    unchanged_changes: int


def _changed(shape: CatalogShape) -> Iterator[list[StagedRecord]]:
    """The same catalog with every record changed: a new name, and a new url where there is one."""
    for batch in staged_records(shape):
        yield [
            r._replace(name=f"{r.name} v2", data=r.data.replace("https://shop.example/", "https://shop.example/2/"))
            for r in batch
        ]


async def _sync(dsn: str, version_id: int, batches: Iterator[list[StagedRecord]], *, history: bool) -> float:
    """Seconds to stage and sync the whole catalog in one transaction (as a task with or without history)."""
    connection = await asyncpg.connect(dsn)
    timings = StatementTimings(connection)
    try:
        started = time.perf_counter()
        async with connection.transaction():
            if history:
                await connection.execute(
                    "INSERT INTO record_history_writers (task_id, task_type, request_id) VALUES (0, 'bench', NULL)"
                )
            store = PostgresRecordStore(connection, version_id)
            staging = time.perf_counter()
            for batch in batches:
                await store.stage(batch)
            timings.add("stage (binary COPY, with making the records)", time.perf_counter() - staging)
            await store.sync([1, 2, 3], force=True, as_of=utcnow())
            await store.check_parents()
            if history:
                await connection.execute("DELETE FROM record_history_writers")
            committing = time.perf_counter()
        timings.add("COMMIT", time.perf_counter() - committing)
        timings.report()
        return time.perf_counter() - started
    finally:
        await connection.close()


async def history_rows(dsn: str) -> int:
    """How many changes the database keeps (a row each, or in batches)."""
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval(PostgresChangeBatches.count_sql)
    finally:
        await connection.close()


async def _set_triggers(dsn: str, enabled: bool) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        for name in _TRIGGERS:
            await connection.execute(f"ALTER TABLE records {'ENABLE' if enabled else 'DISABLE'} TRIGGER {name}")
    finally:
        await connection.close()


async def vacuum_records(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("VACUUM records")
    finally:
        await connection.close()


async def run_history(dsn: str, shape: CatalogShape, version_id: int, rounds: int = 3) -> HistoryRun:
    """The measurements above, on an empty catalog version of a scratch database."""
    records = shape.items + shape.variation_count + shape.group_count
    await _sync(dsn, version_id, staged_records(shape), history=False)
    off: list[float] = []
    on: list[float] = []
    bare: list[float] = []
    changes = 0
    kinds = [("off", off), ("on", on), ("bare", bare)]
    await vacuum_records(dsn)
    for round_ in range(rounds):
        for kind, times in kinds[round_ % 3 :] + kinds[: round_ % 3]:
            if kind == "bare":
                await _set_triggers(dsn, False)
            before = await history_rows(dsn)
            times.append(await _sync(dsn, version_id, _changed(shape), history=kind == "on"))
            print(f"  round {round_ + 1}, history {kind:4} {times[-1]:8.2f} s", flush=True)
            if kind == "on":
                changes = await history_rows(dsn) - before
            # Back to the original catalog (untimed, no history) for the next measured sync.
            await _sync(dsn, version_id, staged_records(shape), history=False)
            if kind == "bare":
                await _set_triggers(dsn, True)
            await vacuum_records(dsn)
    before = await history_rows(dsn)
    unchanged = await _sync(dsn, version_id, staged_records(shape), history=True)
    return HistoryRun(
        records=records,
        off_rounds=tuple(off),
        on_rounds=tuple(on),
        no_trigger_seconds=min(bare),
        unchanged_seconds=unchanged,
        unchanged_changes=await history_rows(dsn) - before,
        changes_per_sync=changes,
    )


def print_history(run: HistoryRun) -> None:
    print(f"history: a full sync changing all {run.records:,} records", flush=True)
    print(f"  without history triggers {run.no_trigger_seconds:8.2f} s", flush=True)
    run.print_on_off()
    print(f"  ratio on / no triggers   {run.on_seconds / run.no_trigger_seconds:8.2f}", flush=True)
    print(
        f"  unchanged sync, history on {run.unchanged_seconds:6.2f} s, {run.unchanged_changes:,} changes written",
        flush=True,
    )
