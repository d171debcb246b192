"""What a task handler gets: its transaction, its payload, its catalog version, a progress reporter."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.db.backend import backend_of
from service.db.models import Catalog
from service.domain.task_errors import ErrorReport
from service.error_reasons import ErrorReason
from service.errors import TaskFailed
from service.settings import Settings
from service.store.ports import RecordStore
from service.tasks import queue
from service.tasks.queue_backends import queue_store
from service.tasks.queue_store import ClaimedTask

log = logging.getLogger(__name__)


@dataclass
class TaskContext:
    conn: AsyncConnection
    engine: AsyncEngine
    task: ClaimedTask
    settings: Settings
    worker_id: str
    # SQLite: a connection for reading the payload, checked out before the task's transaction took the one
    # write lock (see Worker._run); elsewhere None, and payload_connection checks one out.
    payload_conn: AsyncConnection | None = None
    records_seen: int = 0
    records_applied: int = 0
    # The errors the task found (service.domain.task_errors); None until the first.
    reported: ErrorReport | None = None
    # Progress is first written half a second into a task: a small task reports it with its result.
    _last_report: float = field(default_factory=time.monotonic)
    _pending: asyncio.Task[None] | None = None

    @property
    def progress_off_transaction(self) -> bool:
        """Whether progress can be written beside the task's transaction (writers that do not block each other)."""
        return queue_store(self.conn).concurrent

    @contextlib.asynccontextmanager
    async def payload_connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection besides the task's, to read its payload while the task's transaction writes."""
        if self.payload_conn is not None:
            yield self.payload_conn
            return
        async with self.engine.connect() as conn:
            yield conn

    @property
    def errors(self) -> ErrorReport:
        """Where the task reports the records it refuses; stored when the task finishes."""
        if self.reported is None:
            self.reported = ErrorReport(self.settings.max_reported_errors)
        return self.reported

    def parts(self) -> AsyncIterator[tuple[str, bytes]]:
        return queue.payload_parts(self.conn, self.task.id)

    async def active_version_id(self) -> int:
        version = (
            await self.conn.execute(select(Catalog.active_version_id).where(Catalog.id == self.task.catalog_id))
        ).scalar_one_or_none()
        if version is None:
            raise TaskFailed("the catalog has no active version", reason=ErrorReason.NO_ACTIVE_VERSION)
        return version

    async def record_store(self, version_id: int | None = None) -> RecordStore:
        version_id = version_id if version_id is not None else await self.active_version_id()
        return await backend_of(self.conn).record_store(self.conn, version_id)

    def progress(self, seen: int, applied: int | None = None) -> None:
        """Record progress; written to the task (PostgreSQL) at most twice a second, off the task's transaction."""
        self.records_seen = seen
        if applied is not None:
            self.records_applied = applied
        # One writer (SQLite): the task's own transaction. Progress lands with the result.
        if not self.progress_off_transaction or time.monotonic() - self._last_report < 0.5:
            return
        if self._pending is not None and not self._pending.done():
            return
        self._last_report = time.monotonic()
        self._pending = asyncio.create_task(self._write_progress(self.records_seen, self.records_applied))

    async def write_progress(self) -> None:
        """Write the progress now (off the task's transaction)."""
        await self._write_progress(self.records_seen, self.records_applied)

    async def _write_progress(self, seen: int, applied: int) -> None:
        """Best effort: a progress report lost to a database outage is not the task's failure (the task's own
        transaction notices the outage)."""
        try:
            async with self.engine.connect() as conn:
                await queue.report_progress(conn, self.task.id, self.worker_id, seen, applied)
        except Exception as exc:
            log.warning("progress of task %d not written: %s", self.task.id, type(exc).__name__)


Handler = Callable[[TaskContext], Awaitable[dict[str, Any]]]
