"""The deliveries queue alone, on both backends: what a claim takes, the lease it sets, retries and giving
up by the database clock, stale outcomes dropped; on PostgreSQL, concurrent claims that skip each other's
rows and a claim that uses its index. Plus the signature a receiver checks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from catalogingest.v1 import catalog_pb2, record_pb2
from service.webhooks import outbox, signing, store
from tests.conftest import Stack, start_stack

URL = "http://127.0.0.1:9/hook"


@pytest.fixture
async def idle_stack(database_url: str) -> AsyncIterator[Stack]:
    """No worker: tasks stay queued and nothing claims deliveries but the test."""
    async with start_stack(database_url, worker=False, gateway=False) as running:
        yield running


async def queued_task(stack: Stack, url: str | None = URL) -> int:
    request = catalog_pb2.ReplaceRecordsRequest(collection="items", records=[record_pb2.Record(id="a")])
    if url:
        request.notification_url = url
    return (await stack.catalog.ReplaceRecords(request, metadata=stack.metadata())).task_id


async def enqueue(engine: AsyncEngine, task_id: int) -> str | None:
    async with engine.begin() as conn:
        return await outbox.enqueue(conn, task_id)


async def claim(engine: AsyncEngine, limit: int = 10, lease: float = 30.0) -> list[store.Claimed]:
    async with engine.connect() as conn:
        return await store.claim_due(conn, limit, lease)


async def fail(engine: AsyncEngine, claimed: store.Claimed, retry_in: float, **limits: float) -> str | None:
    async with engine.connect() as conn:
        return await store.record_failed(
            conn,
            claimed.id,
            claimed.attempt,
            status_code=500,
            error="HTTP 500",
            retry_in=retry_in,
            max_attempts=int(limits.get("max_attempts", 5)),
            max_age_seconds=limits.get("max_age", 3600.0),
        )


async def test_a_claim_takes_due_deliveries_once_until_their_lease_ends(idle_stack: Stack) -> None:
    engine = idle_stack.engine
    task_id = await queued_task(idle_stack)
    delivery_id = await enqueue(engine, task_id)
    assert await enqueue(engine, await queued_task(idle_stack, url=None)) is None  # no URL, no delivery

    [claimed] = await claim(engine, lease=0.5)
    assert (claimed.id, claimed.task_id, claimed.url, claimed.attempt) == (delivery_id, task_id, URL, 1)
    assert b'"status":"QUEUED"' in claimed.body
    assert await claim(engine) == []  # held by its lease
    await asyncio.sleep(0.6)
    [again] = await claim(engine)  # the lease ran out (its worker died): due again, the next attempt
    assert (again.id, again.attempt) == (delivery_id, 2)
    # The first attempt's outcome comes too late: not recorded over the second.
    assert await fail(engine, claimed, retry_in=0) is None
    async with engine.connect() as conn:
        assert await store.record_delivered(conn, again.id, again.attempt, 204)
    assert await claim(engine) == []


async def test_failures_retry_after_their_backoff_then_give_up(idle_stack: Stack) -> None:
    engine = idle_stack.engine
    await enqueue(engine, await queued_task(idle_stack))
    [first] = await claim(engine)
    assert await fail(engine, first, retry_in=0.3, max_attempts=2) == "PENDING"
    assert await claim(engine) == []  # not due yet
    started = time.monotonic()
    while not (claimed := await claim(engine)):
        assert time.monotonic() - started < 10
        await asyncio.sleep(0.05)
    assert claimed[0].attempt == 2
    assert await fail(engine, claimed[0], retry_in=0.3, max_attempts=2) == "GAVE_UP"
    await asyncio.sleep(0.4)
    assert await claim(engine) == []


async def test_a_delivery_past_its_age_is_given_up(idle_stack: Stack) -> None:
    engine = idle_stack.engine
    await enqueue(engine, await queued_task(idle_stack))
    [claimed] = await claim(engine)
    # The next attempt would come after the maximum age: given up now, whatever attempts are left.
    assert await fail(engine, claimed, retry_in=10, max_attempts=100, max_age=5) == "GAVE_UP"


async def test_concurrent_claims_skip_each_others_rows(pg_url: str) -> None:
    async with start_stack(pg_url, worker=False, gateway=False) as stack:
        for _ in range(6):
            await enqueue(stack.engine, await queued_task(stack))
        async with stack.engine.connect() as holder:
            # One claim's transaction still open: its rows are locked, the other claim takes the rest.
            rows = (
                await holder.execute(
                    text("SELECT id FROM webhook_deliveries ORDER BY next_attempt_at LIMIT 2 FOR UPDATE")
                )
            ).scalars()
            locked = set(rows)
            claimed = await claim(stack.engine)
            await holder.rollback()
        assert len(claimed) == 4 and not locked & {c.id for c in claimed}


async def test_the_claim_uses_its_partial_index(pg_url: str) -> None:
    async with start_stack(pg_url, worker=False, gateway=False) as stack, stack.engine.connect() as conn:
        await conn.execute(text("SET enable_seqscan = off"))
        statement = store._CLAIM.format(
            now="statement_timestamp()", lease_end="statement_timestamp()", lock="FOR UPDATE SKIP LOCKED"
        )
        plan = "\n".join((await conn.execute(text("EXPLAIN " + statement), {"limit": 4})).scalars())
        assert "ix_webhook_deliveries_due" in plan, plan


def test_a_signature_verifies_only_its_body_secret_and_time() -> None:
    body = b'{"id":1,"status":"DONE"}'
    header = signing.sign("whsec_x", body, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert signing.verify("whsec_x", header, body, now=1_700_000_100)
    assert not signing.verify("whsec_x", header, body + b" ", now=1_700_000_100)
    assert not signing.verify("whsec_y", header, body, now=1_700_000_100)
    assert not signing.verify("whsec_x", header, body, now=1_700_000_000 + 301)  # a replay, too late
    assert not signing.verify("whsec_x", "v1=abc", body)
    # During a secret rotation the sender may add a second v1; either one matching will do.
    rotated = header + ",v1=" + signing.signature("whsec_new", body, 1_700_000_000)
    assert signing.verify("whsec_new", rotated, body, now=1_700_000_000)
