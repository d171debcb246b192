"""The queue tier: the queue store's statements called directly on a clone of the migrated template database
(tests/conftest.py's `database_url`, both backends), with no server and no worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db.engine import create_engine, session_factory
from service.tasks.queue_backends import queue_store
from service.tasks.queue_store import QueueStore
from service.tasks.status import TaskType
from tests.poolers import pooler_of

LEASE = 2.0


@dataclass
class Queue:
    engine: AsyncEngine
    store: QueueStore

    async def catalogs(self, *names: str) -> dict[str, int]:
        """A tenant (id 1) and the named catalogs; their ids by name."""
        async with self.engine.connect() as conn:
            await conn.execute(text("INSERT INTO tenants (name) VALUES ('acme')"))
            for name in names:
                await conn.execute(text("INSERT INTO catalogs (tenant_id, name) VALUES (1, :n)"), {"n": name})
            rows = (await conn.execute(text("SELECT name, id FROM catalogs"))).all()
            await conn.commit()
        return {name: id for name, id in rows}

    async def enqueue(self, catalog_id: int, **params: object) -> int:
        async with session_factory(self.engine)() as session:
            task = await self.store.enqueue(
                session, tenant_id=1, catalog_id=catalog_id, task_type=TaskType.RECORDS_REPLACE, params=params
            )
        return task.id

    async def status(self, task_id: int) -> str | None:
        async with self.engine.connect() as conn:
            return (await conn.execute(text("SELECT status FROM tasks WHERE id = :id"), {"id": task_id})).scalar()

    async def worker(self, worker_id: str) -> None:
        async with self.engine.connect() as conn:
            await self.store.register_worker(conn, worker_id, "test-host", 1)

    async def claim(self, worker_id: str, lease: float = LEASE) -> int | None:
        async with self.engine.connect() as conn:
            claimed = await self.store.claim(conn, worker_id, lease)
        return None if claimed is None else claimed.id

    async def age_heartbeat(self, worker_id: str, seconds: float) -> None:
        """The worker's last heartbeat, `seconds` ago by the database clock (a worker that stopped)."""
        async with self.engine.connect() as conn:
            await conn.execute(
                text(f"UPDATE workers SET heartbeat_at = {self.store.clock.ago_sql(seconds)} WHERE id = :id"),
                {"id": worker_id},
            )
            await conn.commit()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pooler=pooler_of(database_url))
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def queue(engine: AsyncEngine) -> Queue:
    return Queue(engine, queue_store(engine))
