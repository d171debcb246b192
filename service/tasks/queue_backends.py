"""The one place that picks a queue store for an engine's database."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from service.tasks.queue_postgres import PostgresQueueStore
from service.tasks.queue_sqlite import SqliteQueueStore
from service.tasks.queue_store import QueueStore

# The stores keep no state of their own: one per backend serves every engine.
_STORES: dict[str, QueueStore] = {"postgresql": PostgresQueueStore(), "sqlite": SqliteQueueStore()}


def queue_store(bind: AsyncEngine | AsyncConnection | AsyncSession) -> QueueStore:
    """The queue store of the database `bind` (an engine, or a connection or session of one) is on."""
    engine = bind.bind if isinstance(bind, AsyncSession) else bind
    if engine is None:
        raise ValueError("a session without an engine has no queue store")
    return _STORES[engine.dialect.name]
