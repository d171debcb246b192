"""The one place that decides which storage backend runs: from the engine's dialect, once per process.

Everything else gets the backend (service.store.ports.Backend) from here and never asks which database
it talks to; tests/test_backend_boundaries.py keeps it so.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from service.store.ports import Backend
from service.store.postgres_backend import PostgresBackend
from service.store.sqlite_backend import SqliteBackend

_BACKENDS: dict[str, Backend] = {"postgresql": PostgresBackend(), "sqlite": SqliteBackend()}


def backend_of(bind: AsyncEngine | AsyncConnection | AsyncSession) -> Backend:
    """The backend of an engine, or of the engine a connection or session is bound to."""
    dialect = bind.bind.dialect if isinstance(bind, AsyncSession) else bind.dialect
    return _BACKENDS[dialect.name]
