"""The raw pipeline: records as ready tuples, binary COPY into staging and the set-based sync, via asyncpg.

The ceiling the service is measured against: no HTTP, no gRPC, no stored payload, no CSV parsing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import asyncpg
import orjson

from service.bench.synthetic import BRANDS, COLORS, WORDS, CatalogShape
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
        batch.append(record(1, n, f"item-{n}", f"{BRANDS[n % 8]} {word} {n}", data, score=n % 100 / 3))
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
    """Seconds to stage and sync the whole catalog into an empty version, in one transaction."""
    connection = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        async with connection.transaction():
            store = PostgresRecordStore(connection, version_id)
            for batch in staged_records(shape):
                await store.stage(batch)
            await store.sync([1, 2, 3], force=True)
            await store.check_parents()
        return time.perf_counter() - started
    finally:
        await connection.close()
