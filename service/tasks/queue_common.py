"""The statements both queue stores share: the same SQL on PostgreSQL and SQLite but for the clock.

A backend (queue_postgres, queue_sqlite) gives its clock, its next queue place, its claim statement and what
only it does (NOTIFY, SQLite's early write lock). Every status change names its declared transition
(service.tasks.status.TRANSITIONS): the statement's WHERE takes the transition's sources, its SET the target.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, ClassVar

from sqlalchemy import TextClause, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from service import log_context, retention
from service.db.clock import Clock
from service.db.models import Task, TaskPayload, Worker
from service.error_reasons import ErrorReason
from service.errors import Aborted, FailedPrecondition, invalid_field
from service.tasks.queue_reads import TaskReads
from service.tasks.queue_store import ClaimedTask, OnCanceled
from service.tasks.status import TaskStatus, Transition, sources, target
from service.tasks.trace_context import submitted_from
from service.webhooks import outbox
from service.webhooks.urls import check_url

# RFC 5321: an address is at most 320 characters (the tasks.notification_email column).
MAX_EMAIL = 320
_CLAIMED = tuple(f.name for f in dataclasses.fields(ClaimedTask))


def _expired_upload(task_id: int) -> Aborted:
    return Aborted(
        f"the upload of task {task_id} was idle too long and its parts were deleted; send it again",
        reason=ErrorReason.UPLOAD_EXPIRED,
    )


class SqlQueueStore(TaskReads):
    concurrent: ClassVar[bool]
    notifies: ClassVar[bool]
    clock: ClassVar[Clock]
    # The whole claim statement (parameters :worker and :lease, the lease in seconds), RETURNING _CLAIMED.
    claim_statement: ClassVar[TextClause]

    def next_place(self) -> ColumnElement:
        """The next place in the queue."""
        raise NotImplementedError

    async def notify(self, conn: AsyncSession | AsyncConnection) -> None:
        """Wake listening workers when the surrounding transaction commits (nothing where workers poll)."""

    async def listen(self, database_url: str, wake: Callable[[], None], stop: asyncio.Event, check: float) -> None:
        """Call `wake` on each enqueue until `stop` (only where `notifies`: else workers poll)."""

    async def begin_task(self, conn: AsyncConnection, task_id: int) -> None:
        """Start a claimed task's transaction (nothing to do unless the backend says so)."""

    # --- enqueueing, and uploads that stream in (PENDING) ---

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
    ) -> Task:
        if notification_email and len(notification_email) > MAX_EMAIL:
            # Checked here, for every path that submits a task: the column holds no more (PostgreSQL refuses it).
            raise invalid_field("notification_email", f"at most {MAX_EMAIL} characters (got {len(notification_email)})")
        if notification_url:
            check_url(notification_url)
        now = self.clock.now()
        task = (
            await session.scalars(
                insert(Task)
                .values(
                    tenant_id=tenant_id,
                    catalog_id=catalog_id,
                    type=task_type,
                    status=TaskStatus.PENDING if pending else TaskStatus.QUEUED,
                    queue_seq=None if pending else self.next_place(),
                    params=params,
                    submitted_by=submitted_by,
                    notification_email=notification_email or None,
                    notification_url=notification_url or None,
                    idempotency_key=idempotency_key,
                    request_hash=request_hash,
                    **submitted_from(),
                    submission_time=now,
                    last_update=now,
                )
                .returning(Task)
            )
        ).one()
        log_context.bind(task_id=task.id)
        rows = [
            {"task_id": task.id, "seq": seq, "part": part, "body": body} for seq, (part, body) in enumerate(payload)
        ]
        if rows:
            await session.execute(TaskPayload.__table__.insert(), rows)
        if not pending:
            await self.notify(session)
        if commit:
            await session.commit()
        return task

    async def store_part(self, session: AsyncSession, task_id: int, seq: int, part: str, body: bytes) -> None:
        alive = await session.execute(
            update(Task)
            .where(Task.id == task_id, Task.status == TaskStatus.PENDING)
            .values(last_update=self.clock.now())
        )
        if (alive.rowcount or 0) != 1:
            await session.rollback()
            raise _expired_upload(task_id)
        await session.execute(
            TaskPayload.__table__.insert(), [{"task_id": task_id, "seq": seq, "part": part, "body": body}]
        )
        await session.commit()

    async def touch_pending(self, session: AsyncSession, task_id: int) -> None:
        await session.execute(
            update(Task)
            .where(Task.id == task_id, Task.status == TaskStatus.PENDING)
            .values(last_update=self.clock.now())
        )
        await session.commit()

    async def submit_pending(
        self,
        session: AsyncSession,
        task_id: int,
        *,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        request_hash: str | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "status": target(Transition.SUBMIT),
            "queue_seq": self.next_place(),
            "submission_time": self.clock.now(),
            "last_update": self.clock.now(),
        }
        if params is not None:
            values["params"] = params
        if idempotency_key is not None:
            values["idempotency_key"] = idempotency_key
            values["request_hash"] = request_hash
        submitted = await session.execute(
            update(Task).where(Task.id == task_id, Task.status.in_(sources(Transition.SUBMIT))).values(**values)
        )
        if (submitted.rowcount or 0) != 1:
            raise _expired_upload(task_id)
        await self.notify(session)

    async def discard_pending(self, session: AsyncSession, task_id: int) -> None:
        await session.execute(delete(Task).where(Task.id == task_id, Task.status == TaskStatus.PENDING))
        await session.commit()

    async def purge_pending(self, conn: AsyncConnection, idle_seconds: float) -> int:
        purged = await conn.execute(
            delete(Task).where(Task.status == TaskStatus.PENDING, Task.last_update < self.clock.ago(idle_seconds))
        )
        await conn.commit()
        return purged.rowcount or 0

    async def payload_parts(
        self, conn: AsyncConnection, task_id: int, part: str | None = None
    ) -> AsyncIterator[tuple[str, bytes]]:
        """A few chunks at a time, so memory stays bounded whatever the payload's size."""
        last = -1
        while True:
            query = (
                select(TaskPayload.seq, TaskPayload.part, TaskPayload.body)
                .where(TaskPayload.task_id == task_id, TaskPayload.seq > last)
                .order_by(TaskPayload.seq)
                .limit(4)
            )
            if part is not None:
                query = query.where(TaskPayload.part == part)
            rows = (await conn.execute(query)).all()
            if not rows:
                return
            for seq, name, body in rows:
                last = seq
                yield name, bytes(body)

    # --- workers and their leases ---

    async def register_worker(self, conn: AsyncConnection, worker_id: str, hostname: str, pid: int) -> None:
        now = self.clock.now()
        await conn.execute(
            Worker.__table__.insert().values(id=worker_id, hostname=hostname, pid=pid, started_at=now, heartbeat_at=now)
        )
        await conn.commit()

    async def heartbeat(self, conn: AsyncConnection, worker_id: str) -> bool:
        beat = await conn.execute(update(Worker).where(Worker.id == worker_id).values(heartbeat_at=self.clock.now()))
        await conn.commit()
        return (beat.rowcount or 0) == 1

    async def unregister_worker(self, conn: AsyncConnection, worker_id: str) -> int:
        released = await conn.execute(self._release().where(Task.worker_id == worker_id))
        await conn.execute(delete(Worker).where(Worker.id == worker_id))
        await conn.commit()
        return released.rowcount or 0

    async def live_workers(self, conn: AsyncConnection | AsyncSession, lease_timeout: float) -> int:
        stale_before = self.clock.ago(lease_timeout)
        return (
            await conn.execute(select(func.count()).select_from(Worker).where(Worker.heartbeat_at > stale_before))
        ).scalar_one()

    # --- the state machine ---

    async def claim(self, conn: AsyncConnection, worker_id: str, lease_timeout: float) -> ClaimedTask | None:
        row = (await conn.execute(self.claim_statement, {"worker": worker_id, "lease": float(lease_timeout)})).first()
        await conn.commit()
        if row is None:
            return None
        params = row.params if isinstance(row.params, dict) else json.loads(row.params)
        return ClaimedTask(**{**row._asdict(), "params": params})

    async def claim_next_in_catalog(
        self, conn: AsyncConnection, catalog_id: int, worker_id: str, types: frozenset[str], max_records: int
    ) -> ClaimedTask | None:
        """Inside a claimed task's transaction, after it finished: the catalog's next task in queue order, claimed
        for the same transaction if it is QUEUED, of one of `types` and of at most `max_records` records
        (params.records_total); else None. Its catalog is held by the surrounding task's live worker, so no other
        worker claims it meanwhile; a crash rolls the claim back with the rest."""
        head = (
            await conn.execute(
                select(Task.id, Task.status, Task.type, Task.params)
                .where(Task.catalog_id == catalog_id, Task.status.in_(sources(Transition.CLAIM)))
                .order_by(Task.queue_seq)
                .limit(1)
            )
        ).first()
        if head is None or head.status != TaskStatus.QUEUED or head.type not in types:
            return None
        params = head.params if isinstance(head.params, dict) else json.loads(head.params)
        if not isinstance(params.get("records_total"), int) or params["records_total"] > max_records:
            return None
        if params.get("dry_run"):  # a dry run's transaction is rolled back: never in another task's
            return None
        now = self.clock.now()
        claimed = (
            await conn.execute(
                update(Task)
                .where(Task.id == head.id, Task.status == TaskStatus.QUEUED)
                .values(
                    status=target(Transition.CLAIM),
                    worker_id=worker_id,
                    attempts=Task.attempts + 1,
                    start_time=func.coalesce(Task.start_time, now),
                    last_update=now,
                )
                .returning(*(getattr(Task, name) for name in _CLAIMED))
            )
        ).first()
        if claimed is None:
            return None
        return ClaimedTask(**{**claimed._asdict(), "params": params})

    async def report_progress(
        self, conn: AsyncConnection, task_id: int, worker_id: str, seen: int, applied: int
    ) -> None:
        await conn.execute(
            update(Task)
            .where(Task.id == task_id, Task.worker_id == worker_id, Task.status == TaskStatus.IN_PROGRESS)
            .values(records_seen=seen, records_applied=applied, last_update=self.clock.now())
        )
        await conn.commit()

    def _release(self) -> Any:
        return (
            update(Task)
            .where(Task.status.in_(sources(Transition.RELEASE)))
            .values(status=target(Transition.RELEASE), worker_id=None, last_update=self.clock.now())
        )

    async def release(self, conn: AsyncConnection, task_id: int, worker_id: str) -> bool:
        released = await conn.execute(self._release().where(Task.id == task_id, Task.worker_id == worker_id))
        await conn.commit()
        return (released.rowcount or 0) == 1

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
    ) -> bool:
        """The caller commits (DONE: with the task's own writes). A dry run finishes without its webhook."""
        transition = {TaskStatus.DONE: Transition.FINISH, TaskStatus.FAILED: Transition.FAIL}[TaskStatus(status)]
        now = self.clock.now()
        values: dict[str, Any] = {
            "status": target(transition),
            "finish_time": now,
            "last_update": now,
            "result": result,
            "error": _storable(error),
        }
        if records_seen is not None:
            values["records_seen"] = records_seen
        if records_applied is not None:
            values["records_applied"] = records_applied
        done = await conn.execute(
            update(Task)
            .where(Task.id == task_id, Task.worker_id == worker_id, Task.status.in_(sources(transition)))
            .values(**values)
        )
        finished = (done.rowcount or 0) == 1
        if finished and webhook:
            await outbox.enqueue(conn, task_id)  # its webhook, committed with the outcome
        if finished:
            await retention.drop_payload_if_done(conn, task_id, status)
        return finished

    async def cancel(
        self, session: AsyncSession, tenant_id: int, task_id: int, on_canceled: OnCanceled | None = None
    ) -> Task:
        now = self.clock.now()
        changed = await session.execute(
            update(Task)
            .where(Task.id == task_id, Task.tenant_id == tenant_id, Task.status.in_(sources(Transition.CANCEL)))
            .values(status=target(Transition.CANCEL), finish_time=now, last_update=now)
            .returning(*(getattr(Task, name) for name in _CLAIMED))
        )
        canceled = changed.first()
        if canceled is not None:
            await outbox.enqueue(await session.connection(), task_id)  # its webhook, committed with the cancel
            await retention.drop_payload_if_done(session, task_id, TaskStatus.CANCELED)
        if canceled is not None and on_canceled is not None:
            await on_canceled(await session.connection(), ClaimedTask(*canceled))
        await session.commit()
        task = await self.get_task(session, tenant_id, task_id)
        if canceled is None:
            raise FailedPrecondition(
                f"task {task_id} is {task.status}; only a QUEUED task can be canceled",
                reason=ErrorReason.TASK_NOT_CANCELABLE,
                metadata={"status": task.status},
            )
        return task


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value: Any) -> Any:
    """The error with NUL and lone surrogates escaped (`\\u0000`): PostgreSQL text cannot hold them, and a
    message may quote the refused input; a failure to store it would leave the task IN_PROGRESS."""
    if isinstance(value, str):
        return _UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", value)
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value
