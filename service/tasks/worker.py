"""The worker: claims tasks, applies each in one transaction, proves it is alive.

One loop per process: wake on NOTIFY (PostgreSQL) or every poll interval, claim while a
slot is free, run each task in its own transaction. A heartbeat keeps the worker's lease;
a worker whose heartbeat stops (killed, partitioned) loses its tasks to the next claim, and
its uncommitted transaction is rolled back by the database, so nothing is half-applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from service import notify
from service.batches import purge_expired
from service.db.models import Catalog, Task
from service.errors import TaskFailed
from service.settings import Settings
from service.tasks import queue
from service.tasks.context import TaskContext
from service.tasks.handlers import FAILURE_HOOKS, HANDLERS
from service.tasks.queue import ClaimedTask
from service.timeutil import utcnow

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, engine: AsyncEngine, settings: Settings, worker_id: str | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.postgres = engine.dialect.name == "postgresql"
        # SQLite has one writer: tasks run one at a time there. It has no NOTIFY either, and polling an
        # embedded file is cheap: poll often, so a write is picked up within 0.1 s.
        self.concurrency = settings.worker_concurrency if self.postgres else 1
        self.poll_interval = settings.worker_poll_interval if self.postgres else min(settings.worker_poll_interval, 0.1)
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        async with self.engine.connect() as conn:
            await queue.register_worker(conn, self.id, socket.gethostname(), os.getpid())
        log.info("worker %s started (concurrency %d)", self.id, self.concurrency)
        heartbeat = asyncio.create_task(self._heartbeat(stop))
        purger = asyncio.create_task(self._purge_batches(stop))
        listener = await self._listen() if self.postgres else None
        try:
            await self._loop(stop)
        finally:
            await self._drain()
            for background in (heartbeat, purger):
                background.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await background
            if listener is not None:
                await listener.close()
            async with self.engine.connect() as conn:
                released = await queue.unregister_worker(conn, self.id)
            log.info("worker %s stopped; %d unfinished task(s) handed back to the queue", self.id, released)

    async def _loop(self, stop: asyncio.Event) -> None:
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                # Cleared before claiming: a NOTIFY that lands while a claim finds nothing must still wake us.
                self._wake.clear()
                claimed_any = False
                while len(self._running) < self.concurrency and not stop.is_set():
                    task = await self._claim()
                    if task is None:
                        break
                    claimed_any = True
                    runner = asyncio.create_task(self._run(task))
                    self._running.add(runner)
                    runner.add_done_callback(self._finished)
                if claimed_any and len(self._running) < self.concurrency:
                    continue
                waker = asyncio.create_task(self._wake.wait())
                await asyncio.wait({waker, stopping}, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED)
                waker.cancel()
        finally:
            stopping.cancel()

    def _finished(self, runner: asyncio.Task[None]) -> None:
        self._running.discard(runner)
        # A finished task may unblock the next task of its catalog.
        self._wake.set()

    async def _claim(self) -> ClaimedTask | None:
        try:
            async with self.engine.connect() as conn:
                return await queue.claim(conn, self.id, self.settings.worker_lease_timeout)
        except Exception:
            log.exception("claiming a task failed; retrying after the poll interval")
            return None

    async def _drain(self) -> None:
        """Let running tasks finish within the grace period; cancel (roll back) the rest."""
        if not self._running:
            return
        _done, pending = await asyncio.wait(set(self._running), timeout=self.settings.shutdown_grace)
        for runner in pending:
            runner.cancel()
        if pending:
            await asyncio.wait(pending)

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with self.engine.connect() as conn:
                    await queue.heartbeat(conn, self.id)
            except Exception:
                log.exception("heartbeat failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.worker_heartbeat_interval)

    async def _purge_batches(self, stop: asyncio.Event) -> None:
        """Delete expired batches every batch_purge_interval_seconds (any worker may; deleting twice is harmless)."""
        while not stop.is_set():
            try:
                async with self.engine.connect() as conn:
                    purged = await purge_expired(conn)
                if purged:
                    log.info("purged %d expired batch(es)", purged)
            except Exception:
                log.exception("purging expired batches failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.batch_purge_interval_seconds)

    async def _listen(self) -> Any:
        conn = await self.engine.connect()
        raw = (await conn.get_raw_connection()).driver_connection
        await raw.add_listener(queue.NOTIFY_CHANNEL, lambda *_: self._wake.set())
        return conn

    async def _run(self, task: ClaimedTask) -> None:
        handler = HANDLERS.get(task.type)
        log.info("task %d (%s) started, attempt %d", task.id, task.type, task.attempts)
        ctx: TaskContext | None = None
        try:
            async with self.engine.connect() as conn:
                if not self.postgres:
                    # BEGIN IMMEDIATE in effect: the task's transaction writes first, so it holds SQLite's one
                    # write lock from the start (waiting busy_timeout for it). A transaction that read first
                    # fails at once with "database is locked" if another connection committed meanwhile.
                    await conn.execute(update(Task).where(Task.id == task.id).values(last_update=utcnow()))
                ctx = TaskContext(conn=conn, engine=self.engine, task=task, settings=self.settings, worker_id=self.id)
                if handler is None:
                    raise TaskFailed(f"unknown task type '{task.type}'", reason="UNKNOWN_TASK_TYPE")
                result = await handler(ctx)
                if self.settings.debug_apply_delay:
                    # Failure-injection hook for tests: a long task, applied but not committed, its progress
                    # written as a long task's would be.
                    if self.postgres:
                        await ctx.write_progress()
                    await asyncio.sleep(self.settings.debug_apply_delay)
                if await queue.finish(
                    conn,
                    task.id,
                    self.id,
                    "DONE",
                    result=result,
                    records_seen=ctx.records_seen,
                    records_applied=ctx.records_applied,
                ):
                    await conn.commit()
                    log.info("task %d done", task.id)
                else:
                    await conn.rollback()
                    log.warning("task %d was taken over by another worker; rolled back", task.id)
        except TaskFailed as failure:
            await self._fail(task, failure.as_dict(), ctx)
        except asyncio.CancelledError:
            log.warning("task %d interrupted by shutdown; rolled back, back to the queue", task.id)
            raise
        except Exception as exc:
            log.exception("task %d failed unexpectedly", task.id)
            message = f"internal error ({type(exc).__name__}) while applying the task; see the worker log"
            await self._fail(task, {"reason": "INTERNAL", "message": message}, ctx)

    async def _fail(self, task: ClaimedTask, error: dict[str, Any], ctx: TaskContext | None) -> None:
        log.info("task %d failed: %s", task.id, error.get("message"))
        async with self.engine.connect() as conn:
            finished = await queue.finish(
                conn,
                task.id,
                self.id,
                "FAILED",
                error=error,
                records_seen=ctx.records_seen if ctx else None,
                records_applied=0,
            )
            if finished and (on_failure := FAILURE_HOOKS.get(task.type)) is not None:
                await on_failure(conn, task, error)
            await conn.commit()
            section = (await conn.execute(select(Catalog.name).where(Catalog.id == task.catalog_id))).scalar_one()
        if finished and task.notification_email:
            await notify.send_failure(self.settings, task.notification_email, task.id, section, error)
