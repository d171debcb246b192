"""The queue's own figures: the claim's latency under depth, and the pickup of a task on an idle queue.

Claim: a scratch database with one catalog busy (its first task running under a live worker) and 0, 20k or
100k tasks queued behind it, plus ten other catalogs with one queued task each and 20k finished tasks of
history; the claim statement of the queue store is timed on its own (each claim rolled back, so every run finds
the same queue). Pickup: the service running, one one-record write at a time enqueued on an idle queue (by the
queue store, as the servicers enqueue), each waited for until DONE; the pickup is the task's start_time (its
claim statement's) minus the last moment before the enqueue's COMMIT, both by the database clock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import statistics
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from catalogingest.v1 import record_pb2
from service.auth import ensure_tenant
from service.bench.e2e import Service
from service.db.engine import create_engine, session_factory
from service.db.migrate import upgrade
from service.domain.catalogs import ensure_catalog
from service.tasks.queue_backends import queue_store
from service.tasks.record_writes import RECORDS_PART, encode_chunk
from service.tasks.status import TaskType

DEPTHS = (0, 20_000, 100_000)
OTHER_CATALOGS = 10
HISTORY = 20_000

_SEED = """
INSERT INTO tasks (tenant_id, catalog_id, type, status, queue_seq, params, worker_id)
SELECT 1, 1, 'records_replace', CASE WHEN n = 0 THEN 'IN_PROGRESS' ELSE 'QUEUED' END, n, '{}',
       CASE WHEN n = 0 THEN 'busy' END
FROM generate_series(0, :depth) AS s(n)
"""
_OTHERS = """
INSERT INTO tasks (tenant_id, catalog_id, type, status, queue_seq, params)
SELECT 1, 1 + n, 'records_replace', 'QUEUED', :depth + n, '{}' FROM generate_series(1, :others) AS s(n)
"""
_HISTORY = """
INSERT INTO tasks (tenant_id, catalog_id, type, status, queue_seq, params, worker_id)
SELECT 1, 1 + n % :catalogs, 'records_replace', 'DONE', -n, '{}', 'gone' FROM generate_series(1, :history) AS s(n)
"""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def claim_latency(dsn: str, depth: int, claims: int = 50) -> float:
    """p50 seconds of one claim with `depth` tasks queued behind one busy catalog (on a fresh database)."""
    engine = create_engine(dsn)
    try:
        await upgrade(engine)
        store = queue_store(engine)
        async with engine.connect() as conn:
            await conn.execute(text("INSERT INTO tenants (name) VALUES ('bench-queue')"))
            await conn.execute(
                text("INSERT INTO catalogs (tenant_id, name) SELECT 1, 'c' || n FROM generate_series(0, :n) AS s(n)"),
                {"n": OTHER_CATALOGS},
            )
            await conn.commit()
            await store.register_worker(conn, "busy", "bench", 0)
            await store.register_worker(conn, "claimer", "bench", 0)
            await conn.execute(text(_SEED), {"depth": depth})
            await conn.execute(text(_OTHERS), {"depth": depth, "others": OTHER_CATALOGS})
            await conn.execute(text(_HISTORY), {"catalogs": OTHER_CATALOGS + 1, "history": HISTORY})
            await conn.commit()
            await conn.execute(text("ANALYZE tasks"))
            await conn.commit()
            params = {"worker": "claimer", "lease": 30.0}
            seconds = []
            for _ in range(claims):
                started = time.perf_counter()
                claimed = (await conn.execute(store.claim_statement, params)).first()
                seconds.append(time.perf_counter() - started)
                await conn.rollback()
                if claimed is None:
                    raise RuntimeError("the claim found no task; the seeded queue has runnable ones")
        return statistics.median(seconds)
    finally:
        await engine.dispose()


async def pickup(service: Service, dsn: str, tasks: int = 200) -> list[float]:
    """Seconds from the commit of each of `tasks` one-record writes to its claim by the service's worker, each
    sent once the queue is idle, by the database clock."""
    engine = create_engine(dsn)
    store = queue_store(engine)
    seconds = []
    try:
        async with session_factory(engine)() as session:
            tenant = await ensure_tenant(session, "bench")
            catalog = await ensure_catalog(session, tenant.id, "bench-pickup")
            tenant_id, catalog_id = tenant.id, catalog.id
        for n in range(tasks):
            # Not in step with the worker's heartbeat or poll interval: a pause of 20-120 ms between tasks.
            await asyncio.sleep(random.uniform(0.02, 0.12))
            record = record_pb2.Record(id=f"pickup-{n}", name=f"Picked up {n}", data_json='{"active": true}')
            async with session_factory(engine)() as session:
                task = await store.enqueue(
                    session,
                    tenant_id=tenant_id,
                    catalog_id=catalog_id,
                    task_type=TaskType.RECORDS_REPLACE,
                    params={"kind": 1, "force": False, "records_total": 1},
                    payload=[(RECORDS_PART, encode_chunk([record]))],
                    commit=False,
                )
                # The last moment before the commit, by the database clock: the figure is at most one commit late.
                committing = (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()
                await session.commit()
                task_id = task.id
            seconds.append((await _started(engine, task_id) - committing).total_seconds())
    finally:
        await engine.dispose()
    return seconds


async def _started(engine: AsyncEngine, task_id: int) -> dt.datetime:
    """The task's start time, once it is DONE."""
    query = text("SELECT status, start_time FROM tasks WHERE id = :id")
    while True:
        async with engine.connect() as conn:
            status, start = (await conn.execute(query, {"id": task_id})).one()
        if status in ("DONE", "FAILED", "CANCELED"):
            if status != "DONE":
                raise RuntimeError(f"benchmark task {task_id} ended {status}")
            return start
        await asyncio.sleep(0.005)
