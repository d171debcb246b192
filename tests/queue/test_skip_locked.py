"""PostgreSQL claims under concurrency: FOR UPDATE SKIP LOCKED lets many workers claim at once, each task
exactly once, and a claim never waits for a row another transaction holds."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from tests.queue.conftest import Queue

WORKERS = 8
CATALOGS = 12


@pytest.fixture
def postgres_queue(queue: Queue, backend: str) -> Queue:
    if backend != "postgresql":
        pytest.skip("SQLite serves one process with one writer: its claims never run concurrently")
    return queue


async def test_concurrent_claims_take_each_task_exactly_once(postgres_queue: Queue) -> None:
    queue = postgres_queue
    ids = await queue.catalogs(*(f"c{n}" for n in range(CATALOGS)))
    tasks = {await queue.enqueue(catalog_id) for catalog_id in ids.values() for _ in range(2)}
    for n in range(WORKERS):
        await queue.worker(f"w{n}")

    async def drain(worker_id: str) -> list[int]:
        """Claim and finish until the queue is empty."""
        taken: list[int] = []
        while True:
            async with queue.engine.connect() as conn:
                claimed = await queue.store.claim(conn, worker_id, 30)
                if claimed is None:
                    return taken
                taken.append(claimed.id)
                assert await queue.store.finish(conn, claimed.id, worker_id, "DONE")
                await conn.commit()

    # A worker that finds nothing while the others hold every catalog's head stops early; the rest drain it.
    taken = [task for claims in await asyncio.gather(*(drain(f"w{n}") for n in range(WORKERS))) for task in claims]
    taken += await drain("w0")
    assert sorted(taken) == sorted(tasks)
    async with queue.engine.connect() as conn:
        statuses = (await conn.execute(text("SELECT status, count(*) FROM tasks GROUP BY status"))).all()
    assert dict(statuses) == {"DONE": len(tasks)}


async def test_a_claim_skips_a_row_another_transaction_locks(postgres_queue: Queue) -> None:
    queue = postgres_queue
    ids = await queue.catalogs("Products", "Offers")
    locked = await queue.enqueue(ids["Products"])
    free = await queue.enqueue(ids["Offers"])
    await queue.worker("w1")
    async with queue.engine.connect() as holder:
        await holder.execute(text("SELECT id FROM tasks WHERE id = :id FOR UPDATE"), {"id": locked})
        # Without SKIP LOCKED this claim would wait for `holder`, which commits only after it.
        async with asyncio.timeout(5):
            assert await queue.claim("w1") == free
        await holder.rollback()
    assert await queue.claim("w1") == locked
