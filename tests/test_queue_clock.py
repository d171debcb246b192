"""Leases are judged by the database clock: a worker host whose clock runs ahead never takes a live worker's
task, and one whose clock lags still re-claims a dead worker's task once its lease ran out."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from service.db.engine import create_engine, session_factory
from service.tasks import queue
from service.timeutil import utcnow

LEASE = 2.0


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator:
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def one_task(engine) -> int:
    """A tenant, a catalog and one queued task."""
    async with engine.connect() as conn:
        await conn.execute(text("INSERT INTO tenants (name) VALUES ('acme')"))
        await conn.execute(text("INSERT INTO catalogs (tenant_id, name) VALUES (1, 'Products')"))
        await conn.commit()
    async with session_factory(engine)() as session:
        task = await queue.enqueue(session, tenant_id=1, catalog_id=1, task_type="records_replace", params={})
    return task.id


def skew(monkeypatch: pytest.MonkeyPatch, by: dt.timedelta) -> None:
    """This process's clock runs `by` off the database's (another host's clock)."""
    monkeypatch.setattr(queue, "utcnow", lambda: utcnow() + by, raising=False)


async def test_a_clock_ahead_never_takes_a_live_workers_task(engine, monkeypatch: pytest.MonkeyPatch) -> None:
    task_id = await one_task(engine)
    async with engine.connect() as conn:
        await queue.register_worker(conn, "alive", "host-a", 1)
        claimed = await queue.claim(conn, "alive", LEASE)
        assert claimed is not None and claimed.id == task_id
        await queue.heartbeat(conn, "alive")
    skew(monkeypatch, dt.timedelta(hours=1))
    async with engine.connect() as conn:
        await queue.register_worker(conn, "ahead", "host-b", 2)
        assert await queue.claim(conn, "ahead", LEASE) is None
        assert await queue.live_workers(conn, LEASE) == 2


async def test_a_clock_behind_still_reclaims_a_dead_workers_task(engine, monkeypatch: pytest.MonkeyPatch) -> None:
    task_id = await one_task(engine)
    async with engine.connect() as conn:
        await queue.register_worker(conn, "dead", "host-a", 1)
        assert (await queue.claim(conn, "dead", LEASE)) is not None
        # Its last heartbeat, by the database's clock, is older than the lease.
        past = (
            "now() - interval '10 seconds'" if conn.dialect.name == "postgresql" else "datetime('now', '-10 seconds')"
        )
        await conn.execute(text(f"UPDATE workers SET heartbeat_at = {past} WHERE id = 'dead'"))
        await conn.commit()
    skew(monkeypatch, -dt.timedelta(hours=1))
    async with engine.connect() as conn:
        await queue.register_worker(conn, "behind", "host-b", 2)
        claimed = await queue.claim(conn, "behind", LEASE)
        assert claimed is not None and (claimed.id, claimed.attempts) == (task_id, 2)
        assert await queue.live_workers(conn, LEASE) == 1
