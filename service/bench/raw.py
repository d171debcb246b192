"""The raw pipeline: records as ready tuples, binary COPY into staging and the set-based sync, via asyncpg.

The ceiling the service is measured against: no HTTP, no gRPC, no stored payload, no CSV parsing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import asyncpg
import orjson

from service.bench.synthetic import BRANDS, COLORS, WORDS, CatalogShape, item_suffix
from service.store.postgres import PostgresRecordStore
from service.store.staged import ROW_BITS, StagedRecord
from service.timeutil import utcnow

BATCH = 5000


def staged_records(shape: CatalogShape) -> Iterator[list[StagedRecord]]:
    """The synthetic catalog of service.bench.synthetic, as the CSV parser would stage it."""
    now = utcnow()
    batch: list[StagedRecord] = []

    def record(
        kind: int,
        n: int,
        record_id: str,
        name: str,
        data: dict,
        parent: str | None = None,
        parents: str | None = None,
        score: float | None = None,
    ) -> StagedRecord:
        return StagedRecord(
            (kind << ROW_BITS) + n + 2,
            kind,
            record_id,
            "",
            name,
            True,
            score,
            score is not None,
            parent,
            parent is not None,
            parents,
            parents is not None,
            orjson.dumps(data).decode(),
            now,
        )

    for n in range(shape.items):
        word = WORDS[n % len(WORDS)]
        data = {
            "url": f"https://shop.example/p/{n}",
            "image_url": f"https://cdn.example/{n}.jpg",
            "description": f"A {word} number {n}",
            "keywords": [word, COLORS[n % 8]],
            "group_ids": ["g0"],
            "active": True,
            "brand": BRANDS[n % 8],
            "facets": {"color": [COLORS[n % 8], COLORS[(n + 3) % 8]]},
        }
        batch.append(
            record(1, n, f"item-{n}", f"{BRANDS[n % 8]} {word} {n}{item_suffix(shape, n)}", data, score=n % 100 / 3)
        )
        if len(batch) >= BATCH:
            yield batch
            batch = []
    per_item = shape.variations_per_item
    for n in range(shape.variation_count):
        data = {"url": f"https://shop.example/v/{n}", "active": True, "facets": {"size": [str(36 + n % 12)]}}
        batch.append(record(2, n, f"var-{n}", f"Variation {n}", data, parent=f"item-{int(n / per_item)}"))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    for n in range(shape.group_count):
        parents = orjson.dumps([f"g{n // 10}"] if n >= 10 else []).decode()
        batch.append(record(3, n, f"g{n}", f"Group {n}", {"rank": n}, parents=parents))
    yield batch


async def run_raw(dsn: str, shape: CatalogShape, version_id: int) -> float:
    """Seconds to stage and sync the whole catalog into the version (empty or not), in one transaction, as a
    CSV sync task does (R3's `as_of`, the 50% guard)."""
    connection = await asyncpg.connect(dsn)
    timings = StatementTimings(connection)
    try:
        started = time.perf_counter()
        async with connection.transaction():
            store = PostgresRecordStore(connection, version_id)
            for batch in staged_records(shape):
                copy_started = time.perf_counter()
                await store.stage(batch)
                timings.add("COPY into stage_records", time.perf_counter() - copy_started)
            await store.sync([1, 2, 3], force=False, as_of=utcnow())
            await store.check_parents()
        seconds = time.perf_counter() - started
        timings.report()
        return seconds
    finally:
        await connection.close()


class StatementTimings:
    """With CATALOG_INGEST_BENCH_STATEMENTS=1: the seconds each statement took (summed by its first words)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.totals: dict[str, float] = {}
        self.enabled = bool(os.environ.get("CATALOG_INGEST_BENCH_STATEMENTS"))
        if self.enabled:
            connection.add_query_logger(self._log)

    def _log(self, record: asyncpg.connection.LoggedQuery) -> None:
        self.add(" ".join(record.query.split())[:90], record.elapsed)

    def add(self, key: str, seconds: float) -> None:
        if self.enabled:
            self.totals[key] = self.totals.get(key, 0.0) + seconds

    def report(self) -> None:
        if not self.totals:
            return
        for key, seconds in sorted(self.totals.items(), key=lambda kv: -kv[1])[:12]:
            print(f"    {seconds:7.2f} s  {key}", flush=True)
