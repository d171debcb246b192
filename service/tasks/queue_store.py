"""What a task queue store does (the port), whatever database holds the queue.

One implementation per backend: service.tasks.queue_postgres (any number of server and worker processes:
SKIP LOCKED claims, NOTIFY on enqueue) and service.tasks.queue_sqlite (one process, one writer).
service.tasks.queue_backends picks one per engine; nothing outside the backend modules asks which
database it runs on. Every time two processes compare comes from the database clock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.db.clock import Clock
from service.db.models import Task
from service.tasks.status import TaskStatus


@dataclass(frozen=True)
class ClaimedTask:
    id: int
    tenant_id: int
    catalog_id: int
    type: str
    params: dict[str, Any]
    attempts: int
    notification_email: str | None


# Called in the transaction that cancels a task: what the task's own resources must show about it.
OnCanceled = Callable[[AsyncConnection, ClaimedTask], Awaitable[None]]


@dataclass(frozen=True)
class TaskFilter:
    """Which of a tenant's visible tasks a listing shows (every field optional)."""

    section: str = ""
    type: str = ""
    status: TaskStatus | None = None
    submitted_after: dt.datetime | None = None
    submitted_before: dt.datetime | None = None


@dataclass(frozen=True)
class TaskPage:
    """One page of a listing, newest first: (task, its catalog's name); `more` when a next page exists."""

    tasks: list[tuple[Task, str]]
    total: int
    # Per status, the tasks the filter matches before the status filter applies.
    status_counts: dict[str, int] = field(default_factory=dict)
    more: bool = False


@dataclass(frozen=True)
class KeyHolder:
    """The task holding an idempotency key, and whether its submission is inside the window (database clock)."""

    task_id: int
    request_hash: str | None
    within_window: bool


class QueueStore(Protocol):
    # Many processes share the queue and its writers do not block each other (PostgreSQL); else one process,
    # one writer (SQLite): tasks run one at a time, progress lands with the result, no lease is given up.
    concurrent: bool
    # Enqueues wake listening workers (LISTEN/NOTIFY); without it, workers poll.
    notifies: bool
    # The database clock the store's statements stamp and compare times with.
    clock: Clock

    # Enqueueing and streamed uploads (PENDING until submitted).
    async def enqueue(
        self,
        session: AsyncSession,
        *,
        tenant_id: int,
        catalog_id: int,
        task_type: str,
        params: dict[str, Any],
        payload: Iterable[tuple[str, bytes]] = (),
        submitted_by: int | None = None,
        notification_email: str | None = None,
        notification_url: str | None = None,
        idempotency_key: str | None = None,
        request_hash: str | None = None,
        commit: bool = True,
        pending: bool = False,
    ) -> Task: ...
    async def store_part(self, session: AsyncSession, task_id: int, seq: int, part: str, body: bytes) -> None: ...
    async def touch_pending(self, session: AsyncSession, task_id: int) -> None: ...
    async def submit_pending(
        self,
        session: AsyncSession,
        task_id: int,
        *,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        request_hash: str | None = None,
    ) -> None: ...
    async def discard_pending(self, session: AsyncSession, task_id: int) -> None: ...
    async def purge_pending(self, conn: AsyncConnection, idle_seconds: float) -> int: ...
    async def notify(self, conn: AsyncSession | AsyncConnection) -> None: ...
    async def listen(self, database_url: str, wake: Callable[[], None], stop: asyncio.Event, check: float) -> None: ...
    def payload_parts(
        self, conn: AsyncConnection, task_id: int, part: str | None = None
    ) -> AsyncIterator[tuple[str, bytes]]: ...

    # Workers and leases.
    async def register_worker(self, conn: AsyncConnection, worker_id: str, hostname: str, pid: int) -> None: ...
    async def heartbeat(self, conn: AsyncConnection, worker_id: str) -> bool: ...
    async def unregister_worker(self, conn: AsyncConnection, worker_id: str) -> int: ...
    async def live_workers(self, conn: AsyncConnection | AsyncSession, lease_timeout: float) -> int: ...

    # The state machine (service.tasks.status.TRANSITIONS).
    async def claim(self, conn: AsyncConnection, worker_id: str, lease_timeout: float) -> ClaimedTask | None: ...
    async def claim_next_in_catalog(
        self, conn: AsyncConnection, catalog_id: int, worker_id: str, types: frozenset[str], max_records: int
    ) -> ClaimedTask | None: ...
    async def begin_task(self, conn: AsyncConnection, task_id: int) -> None: ...
    async def report_progress(
        self, conn: AsyncConnection, task_id: int, worker_id: str, seen: int, applied: int
    ) -> None: ...
    async def release(self, conn: AsyncConnection, task_id: int, worker_id: str) -> bool: ...
    async def finish(
        self,
        conn: AsyncConnection,
        task_id: int,
        worker_id: str,
        status: TaskStatus,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        records_seen: int | None = None,
        records_applied: int | None = None,
        webhook: bool = True,
    ) -> bool: ...
    async def cancel(
        self, session: AsyncSession, tenant_id: int, task_id: int, on_canceled: OnCanceled | None = None
    ) -> Task: ...

    # Reading tasks (the Tasks API).
    async def get_task(self, session: AsyncSession, tenant_id: int, task_id: int) -> Task: ...
    async def get_task_in_section(self, session: AsyncSession, tenant_id: int, task_id: int) -> tuple[Task, str]: ...
    async def list_tasks(
        self, session: AsyncSession, tenant_id: int, where: TaskFilter, size: int, *, before: int | None, offset: int
    ) -> TaskPage: ...

    # Idempotency keys (service.domain.idempotency).
    async def key_holder(
        self, session: AsyncSession, tenant_id: int, key: str, window_seconds: float
    ) -> KeyHolder | None: ...
    async def free_expired_key(
        self, session: AsyncSession, tenant_id: int, key: str, window_seconds: float
    ) -> None: ...
    async def seal_request_hash(self, session: AsyncSession, task_id: int, digest: str) -> None: ...

    # The database clock in UNIX seconds (rate limits); a batch an ingestion reads, held against a purge.
    async def epoch_now(self, session: AsyncSession) -> float: ...
    async def hold_live_batch(self, conn: AsyncConnection, batch_pk: str, now: dt.datetime) -> bool: ...
