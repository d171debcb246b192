"""Leases by the database clock: a live worker keeps its task, a dead worker's task is claimed again."""

from __future__ import annotations

from sqlalchemy import text

from service.db.engine import session_factory
from tests.queue.conftest import LEASE, Queue


async def test_a_live_workers_task_is_never_claimed_again(queue: Queue) -> None:
    ids = await queue.catalogs("Products")
    task_id = await queue.enqueue(ids["Products"])
    await queue.worker("alive")
    await queue.worker("other")
    assert await queue.claim("alive") == task_id
    async with queue.engine.connect() as conn:
        assert await queue.store.heartbeat(conn, "alive")
    assert await queue.claim("other") is None


async def test_a_task_whose_lease_expired_is_claimed_again_by_another_worker(queue: Queue) -> None:
    ids = await queue.catalogs("Products")
    task_id = await queue.enqueue(ids["Products"])
    await queue.worker("dead")
    await queue.worker("heir")
    assert await queue.claim("dead") == task_id
    await queue.age_heartbeat("dead", LEASE + 5)
    # Never by the worker that holds it: a late heartbeat of its own is no reason to run its task twice.
    assert await queue.claim("dead") is None
    async with queue.engine.connect() as conn:
        claimed = await queue.store.claim(conn, "heir", LEASE)
        assert claimed is not None and (claimed.id, claimed.attempts) == (task_id, 2)
        assert await queue.store.live_workers(conn, LEASE) == 1
        # The dead worker's late finish loses: the task is the heir's now.
        assert not await queue.store.finish(conn, task_id, "dead", "DONE")
        assert await queue.store.finish(conn, task_id, "heir", "DONE")
        await conn.commit()
    assert await queue.status(task_id) == "DONE"


async def test_a_dead_workers_task_no_longer_blocks_its_catalog(queue: Queue) -> None:
    ids = await queue.catalogs("Products")
    first = await queue.enqueue(ids["Products"])
    second = await queue.enqueue(ids["Products"])
    await queue.worker("dead")
    await queue.worker("heir")
    assert await queue.claim("dead") == first
    assert await queue.claim("heir") is None
    await queue.age_heartbeat("dead", LEASE + 5)
    # The first task is re-run before the second: FIFO holds across a re-claim.
    assert await queue.claim("heir") == first
    assert await queue.claim("heir") is None
    assert await queue.status(second) == "QUEUED"


async def test_a_lost_worker_row_fails_the_heartbeat_and_unregistering_hands_tasks_back(queue: Queue) -> None:
    ids = await queue.catalogs("Products")
    task_id = await queue.enqueue(ids["Products"])
    await queue.worker("leaving")
    assert await queue.claim("leaving") == task_id
    async with queue.engine.connect() as conn:
        assert await queue.store.unregister_worker(conn, "leaving") == 1
        assert not await queue.store.heartbeat(conn, "leaving")
    assert await queue.status(task_id) == "QUEUED"
    await queue.worker("next")
    assert await queue.claim("next") == task_id


async def test_an_idle_pending_upload_is_purged_by_the_database_clock(queue: Queue) -> None:
    ids = await queue.catalogs("Products")
    async with session_factory(queue.engine)() as session:
        pending = await queue.store.enqueue(
            session, tenant_id=1, catalog_id=ids["Products"], task_type="catalog_sync", params={}, pending=True
        )
    async with queue.engine.connect() as conn:
        assert await queue.store.purge_pending(conn, 60) == 0
        await conn.execute(
            text(f"UPDATE tasks SET last_update = {queue.store.clock.ago_sql(61)} WHERE id = :id"), {"id": pending.id}
        )
        await conn.commit()
        assert await queue.store.purge_pending(conn, 60) == 1
    assert await queue.status(pending.id) is None
