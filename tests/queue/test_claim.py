"""Claims: FIFO per catalog, catalogs side by side, attempts and start times from the database clock."""

from __future__ import annotations

from sqlalchemy import text

from service.db.engine import session_factory
from tests.queue.conftest import Queue


async def test_an_empty_queue_claims_nothing(queue: Queue) -> None:
    await queue.catalogs("Products")
    await queue.worker("w1")
    assert await queue.claim("w1") is None


async def test_a_catalogs_tasks_run_one_at_a_time_in_submission_order(queue: Queue) -> None:
    ids = await queue.catalogs("Products")
    first, second, third = [await queue.enqueue(ids["Products"]) for _ in range(3)]
    await queue.worker("w1")
    await queue.worker("w2")
    assert await queue.claim("w1") == first
    # The second waits for the first, even for another live worker.
    assert await queue.claim("w2") is None
    async with queue.engine.connect() as conn:
        assert await queue.store.finish(conn, first, "w1", "DONE")
        await conn.commit()
    assert await queue.claim("w2") == second
    async with queue.engine.connect() as conn:
        assert await queue.store.finish(conn, second, "w2", "FAILED", error={"reason": "X", "message": "x"})
        await conn.commit()
    # A failed task does not block the next one either.
    assert await queue.claim("w1") == third


async def test_catalogs_are_claimed_side_by_side_in_queue_order(queue: Queue) -> None:
    ids = await queue.catalogs("Products", "Offers")
    products = await queue.enqueue(ids["Products"])
    offers = await queue.enqueue(ids["Offers"])
    products_later = await queue.enqueue(ids["Products"])
    await queue.worker("w1")
    assert [await queue.claim("w1") for _ in range(3)] == [products, offers, None]
    assert await queue.status(products_later) == "QUEUED"


async def test_a_claim_counts_the_attempt_and_stamps_the_database_clock(queue: Queue) -> None:
    ids = await queue.catalogs("Products")
    task_id = await queue.enqueue(ids["Products"], note="x")
    await queue.worker("w1")
    async with queue.engine.connect() as conn:
        claimed = await queue.store.claim(conn, "w1", 2.0)
        assert claimed is not None
        assert (claimed.id, claimed.catalog_id, claimed.attempts, claimed.params) == (
            task_id,
            ids["Products"],
            1,
            {"note": "x"},
        )
        row = (
            await conn.execute(
                text(
                    f"SELECT worker_id, start_time >= submission_time, start_time <= {queue.store.clock.now_sql}"
                    " FROM tasks WHERE id = :id"
                ),
                {"id": task_id},
            )
        ).one()
    assert tuple(row) == ("w1", True, True)


async def test_a_pending_upload_is_never_claimed_until_submitted(queue: Queue) -> None:
    ids = await queue.catalogs("Products")
    async with session_factory(queue.engine)() as session:
        pending = await queue.store.enqueue(
            session, tenant_id=1, catalog_id=ids["Products"], task_type="catalog_sync", params={}, pending=True
        )
    later = await queue.enqueue(ids["Products"])
    await queue.worker("w1")
    # The pending upload has no place in the queue yet: the task queued after it runs first.
    assert await queue.claim("w1") == later
    async with queue.engine.connect() as conn:
        assert await queue.store.finish(conn, later, "w1", "DONE")
        await conn.commit()
    async with session_factory(queue.engine)() as session:
        await queue.store.submit_pending(session, pending.id)
        await session.commit()
    assert await queue.claim("w1") == pending.id


async def test_the_next_small_write_of_a_catalog_is_claimed_in_the_running_tasks_transaction(queue: Queue) -> None:
    ids = await queue.catalogs("Products", "Offers")
    first = await queue.enqueue(ids["Products"], records_total=10)
    other = await queue.enqueue(ids["Offers"], records_total=10)
    second = await queue.enqueue(ids["Products"], records_total=10)
    big = await queue.enqueue(ids["Products"], records_total=50_000)
    after_big = await queue.enqueue(ids["Products"], records_total=10)
    await queue.worker("w1")
    types = frozenset({"records_replace"})
    assert await queue.claim("w1") == first
    async with queue.engine.connect() as conn:
        assert await queue.store.finish(conn, first, "w1", "DONE")
        # Its catalog's next task, in queue order (not the other catalog's, which came earlier).
        follower = await queue.store.claim_next_in_catalog(conn, ids["Products"], "w1", types, 5_000)
        assert follower is not None and (follower.id, follower.attempts) == (second, 1)
        assert await queue.store.finish(conn, second, "w1", "DONE")
        # Too big for a small write: the chain stops there (never skipping it, FIFO).
        assert await queue.store.claim_next_in_catalog(conn, ids["Products"], "w1", types, 5_000) is None
        await conn.rollback()
    # Rolled back with the transaction: all as before the claim of the follower.
    assert [await queue.status(t) for t in (first, second, big, after_big, other)] == [
        "IN_PROGRESS",
        "QUEUED",
        "QUEUED",
        "QUEUED",
        "QUEUED",
    ]
