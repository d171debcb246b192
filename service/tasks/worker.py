"""The worker: claims tasks, applies each in one transaction, proves it is alive.

One loop per process: wake on NOTIFY (PostgreSQL) or every poll interval, claim while a
slot is free, run each task in its own transaction. A heartbeat keeps the worker's lease;
a worker whose heartbeat stops (killed, partitioned) loses its tasks to the next claim, and
its uncommitted transaction is rolled back by the database, so nothing is half-applied.

A database outage (restart, immediate stop) strands nothing: a task whose connection died goes
back to the queue, an outcome that cannot be written is retried until the database answers, a
worker that cannot renew its lease stops its tasks and takes a new id, and the LISTEN connection
is made again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service import notify, retention
from service.db.models import Catalog
from service.db.outage import is_database_outage
from service.domain import previews, task_errors
from service.domain.batches import purge_expired
from service.error_reasons import ErrorReason
from service.errors import TaskFailed
from service.settings import Settings
from service.store.record_history import begin_history, end_history
from service.tasks import faults, observe
from service.tasks.context import Handler, TaskContext
from service.tasks.handlers import DRY_RUN_HOOKS, FAILURE_HOOKS, HANDLERS, PAYLOAD_READERS
from service.tasks.queue_backends import queue_store
from service.tasks.queue_store import ClaimedTask
from service.tasks.status import TaskStatus, TaskType
from service.webhooks.sender import WebhookSender

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, engine: AsyncEngine, settings: Settings, worker_id: str | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.id = worker_id or _new_id()
        self.queue = queue_store(engine)
        self.faults = faults.from_settings(settings)
        # One writer (SQLite): tasks run one at a time. Without NOTIFY, polling an embedded file is cheap: poll
        # often, so a write is picked up within 0.1 s.
        self.concurrency = settings.worker_concurrency if self.queue.concurrent else 1
        self.poll_interval = (
            settings.worker_poll_interval if self.queue.notifies else min(settings.worker_poll_interval, 0.1)
        )
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        # Claims only under a registered id whose lease this worker renews.
        self._registered = False
        # Ids this worker gave up (lease lost) whose tasks go back to the queue once the database answers.
        self._abandoned: list[str] = []
        # PostgreSQL: the connection claims are made on, kept between claims (see _claim_on_held).
        self._claim_conn: AsyncConnection | None = None

    async def run(self, stop: asyncio.Event) -> None:
        async with self.engine.connect() as conn:
            await self.queue.register_worker(conn, self.id, socket.gethostname(), os.getpid())
        self._registered = True
        log.info("worker %s started (concurrency %d)", self.id, self.concurrency)
        background = [
            asyncio.create_task(self._heartbeat(stop)),
            asyncio.create_task(self._every(stop, self.settings.batch_purge_interval_seconds, self._purge_batches)),
            asyncio.create_task(WebhookSender(self.engine, self.settings).run(stop)),
            asyncio.create_task(self._every(stop, self.settings.worker_heartbeat_interval, self._sample_queue)),
            asyncio.create_task(self._every(stop, _pending_purge_interval(self.settings), self._purge_pending)),
            asyncio.create_task(self._every(stop, self.settings.task_purge_interval_seconds, self._purge_finished())),
        ]
        listen_url = self.settings.effective_listen_database_url
        if self.queue.notifies and listen_url:
            check = self.settings.worker_lease_timeout / 2
            wake_on_enqueue = self.queue.listen(listen_url, self._wake.set, stop, check)
            background.append(asyncio.create_task(wake_on_enqueue))
        elif self.queue.notifies:
            # A LISTEN through a transaction pooler would sit on a server connection other clients share.
            log.warning(
                "no LISTEN behind a transaction pooler without CATALOG_INGEST_LISTEN_DATABASE_URL: polling every %gs",
                self.settings.worker_poll_interval,
            )
        try:
            await self._loop(stop)
        finally:
            await self._drain()
            # The side loops end at their next wait once `stop` is set; cancelled in the middle of a statement,
            # an SQLite connection could keep the write lock that unregistering needs.
            await self._drop_claim_connection(broken=False)
            _done, left = await asyncio.wait(background, timeout=5.0 if stop.is_set() else 0)
            for task in left:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            async with self.engine.connect() as conn:
                released = 0
                for worker_id in (*self._abandoned, self.id):
                    released += await self.queue.unregister_worker(conn, worker_id)
            log.info("worker %s stopped; %d unfinished task(s) handed back to the queue", self.id, released)

    async def _loop(self, stop: asyncio.Event) -> None:
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                # Cleared before claiming: a NOTIFY that lands while a claim finds nothing must still wake us.
                self._wake.clear()
                claimed_any = False
                while self._registered and len(self._running) < self.concurrency and not stop.is_set():
                    task = await self._claim()
                    if task is None:
                        break
                    claimed_any = True
                    runner = asyncio.create_task(observe.run(self.engine, task, self._run))
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
            if not self.queue.concurrent:
                async with self.engine.connect() as conn:
                    return await self.queue.claim(conn, self.id, self.settings.worker_lease_timeout)
            try:
                return await self._claim_on_held()
            except Exception:
                # The held connection may have died with a database restart: once more on a fresh one.
                await self._drop_claim_connection()
                return await self._claim_on_held()
        except Exception as exc:
            await self._drop_claim_connection()
            _log_failure("claiming a task failed; retrying after the poll interval", exc)
            return None

    async def _claim_on_held(self) -> ClaimedTask | None:
        """The claim on a connection the worker keeps (no checkout and ping before each claim), one statement
        committed on its own (no BEGIN and COMMIT round trips): the pickup's latency is one round trip. The
        connection holds no session state, so it passes through a transaction-pooling PgBouncer."""
        if self._claim_conn is None:
            self._claim_conn = await self.engine.connect()
            await self._claim_conn.execution_options(isolation_level="AUTOCOMMIT")
        return await self.queue.claim(self._claim_conn, self.id, self.settings.worker_lease_timeout)

    async def _drop_claim_connection(self, broken: bool = True) -> None:
        conn, self._claim_conn = self._claim_conn, None
        if conn is not None:
            if broken:
                with contextlib.suppress(Exception):
                    await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()

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
        """Renew the lease; a worker that cannot for a whole lease gives it up.

        Its tasks' transactions died with their connections, and other workers may already be re-running
        them: it cancels them rather than finish them later under a stale lease, and registers under a new
        id, so that none of its tasks stays held by an id that looks alive.
        """
        lease = self.settings.worker_lease_timeout
        # Since when every attempt failed. Only failures count: a heartbeat that is merely late (a busy event
        # loop) is no sign of an outage, and a task held past its lease is protected by finish's check anyway.
        failing_since: float | None = None
        while not stop.is_set():
            attempt = time.monotonic()
            try:
                # One process, one writer (SQLite): a heartbeat may wait for the write lock a long task holds, and
                # no lease is given up there (nobody else could take the tasks over).
                async with asyncio.timeout(lease if self.queue.concurrent else None), self.engine.connect() as conn:
                    if not self._registered:
                        await self._reregister(conn)
                    elif not await self.queue.heartbeat(conn, self.id):
                        self._give_up_lease("its worker row is gone")
                        await self._reregister(conn)
                    failing_since = None
                    await self._release_abandoned(conn)
            except Exception as exc:
                failing_since = attempt if failing_since is None else failing_since
                _log_failure("heartbeat failed", exc)
            lease_lost = failing_since is not None and time.monotonic() - failing_since > lease
            if self.queue.concurrent and self._registered and lease_lost:
                self._give_up_lease(f"heartbeats failed for {time.monotonic() - failing_since:.1f}s (lease {lease:g}s)")
                failing_since = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.worker_heartbeat_interval)

    def _give_up_lease(self, why: str) -> None:
        log.warning(
            "worker %s lost its lease (%s): stopping its %d running task(s), which are re-run",
            self.id,
            why,
            len(self._running),
        )
        for runner in self._running:
            runner.cancel()
        self._abandoned.append(self.id)
        self._registered = False
        self.id = _new_id()

    async def _reregister(self, conn: AsyncConnection) -> None:
        await self.queue.register_worker(conn, self.id, socket.gethostname(), os.getpid())
        self._registered = True
        log.info("worker registered again as %s", self.id)
        self._wake.set()

    async def _release_abandoned(self, conn: AsyncConnection) -> None:
        while self._abandoned:
            released = await self.queue.unregister_worker(conn, self._abandoned[0])
            log.info("worker id %s given up; %d task(s) handed back to the queue", self._abandoned.pop(0), released)

    async def _every(self, stop: asyncio.Event, interval: float, job: Callable[[], Awaitable[None]]) -> None:
        """Run a periodic job (any worker may; running it twice is harmless)."""
        while not stop.is_set():
            try:
                await job()
            except Exception as exc:
                _log_failure(f"{job.__name__.strip('_').replace('_', ' ')} failed", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    async def _purge_batches(self) -> None:
        """Delete expired batches."""
        async with self.engine.connect() as conn:
            purged = await purge_expired(conn)
        if purged:
            log.info("purged %d expired batch(es)", purged)

    def _purge_finished(self) -> Callable[[], Awaitable[None]]:
        return retention.periodic_purge(self.engine, self.settings)

    async def _purge_pending(self) -> None:
        """Delete what broken uploads left: PENDING tasks no part came for within the expiry."""
        async with self.engine.connect() as conn:
            purged = await self.queue.purge_pending(conn, self.settings.pending_upload_expiry_seconds)
        if purged:
            log.info("deleted %d abandoned upload(s)", purged)

    async def _sample_queue(self) -> None:
        """Sample the queue's depth and the live workers for the metrics."""
        await observe.sample_queue(self.engine, self.settings.worker_lease_timeout)

    @contextlib.asynccontextmanager
    async def _payload_connection(self, task: ClaimedTask) -> AsyncIterator[AsyncConnection | None]:
        """One writer at a time (SQLite): the second connection a catalog upload reads its payload with, taken
        before the task's transaction holds the write lock. Taken after it, it could wait for the pool while the
        sessions that hold the pool wait for that lock: every writer stuck for the pool's and busy timeouts."""
        # A dry run compares its writes with what is committed, read on that second connection.
        if self.queue.concurrent or (task.type not in PAYLOAD_READERS and not previews.is_dry_run(task.params)):
            yield None
            return
        async with self.engine.connect() as payload:
            yield payload

    async def _run(self, task: ClaimedTask) -> None:
        holder = self.id
        handler = HANDLERS.get(task.type)
        log.info("task %d (%s) started, attempt %d", task.id, task.type, task.attempts)
        ctx: TaskContext | None = None
        try:
            async with self.engine.connect() as conn, self._payload_connection(task) as payload:
                await self.queue.begin_task(conn, task.id)
                history = self.settings.history_retention_seconds > 0
                if history:
                    await begin_history(conn, task.id, task.type)
                ctx = TaskContext(
                    conn=conn,
                    engine=self.engine,
                    task=task,
                    settings=self.settings,
                    worker_id=holder,
                    payload_conn=payload,
                )
                if handler is None:
                    raise TaskFailed(f"unknown task type '{task.type}'", reason=ErrorReason.UNKNOWN_TASK_TYPE)
                if previews.is_dry_run(task.params):
                    await self._dry_run(ctx, handler)
                    return
                result = await handler(ctx)
                if history:
                    await end_history(conn)
                await self.faults.applied(ctx)
                finished, result = await self._finish_done(ctx, holder, result)
                if finished:
                    followers = await self._follow(conn, task, holder) if task.type in BATCHED else []
                    await conn.commit()
                    log.info("task %d done", task.id)
                    observe.finished(task, TaskStatus.DONE, ctx.records_applied, result)
                    try:
                        await self._followed(followers)
                    except Exception as exc:  # committed: a lost failure e-mail is not the first task's failure
                        _log_failure(f"after the tasks that followed task {task.id}", exc)
                else:
                    await conn.rollback()
                    log.warning("task %d was taken over by another worker; rolled back", task.id)
        except TaskFailed as failure:
            report = task_errors.failure_report(
                ctx.reported if ctx else None, failure, self.settings.max_reported_errors
            )
            reason = task_errors.with_count(failure.as_dict(), report)
            await self._until_recorded(task, holder, lambda: self._fail(task, holder, reason, ctx, report))
        except asyncio.CancelledError:
            log.warning("task %d interrupted; rolled back, back to the queue", task.id)
            raise
        except Exception as exc:
            if is_database_outage(exc):
                # Not the task's fault: its attempt was rolled back with the connection; it runs again.
                log.warning("task %d lost its database connection (%s); back to the queue", task.id, _brief(exc))
                await self._until_recorded(task, holder, lambda: self._release(task, holder))
                return
            error = _unexpected(task, exc)
            await self._until_recorded(task, holder, lambda: self._fail(task, holder, error, ctx))

    async def _follow(self, conn: AsyncConnection, first: ClaimedTask, holder: str) -> list[Followed]:
        """The catalog's next queued small writes, applied in `first`'s transaction after it, in queue order.

        Each is claimed, applied and finished in a savepoint of its own: it keeps its own status, result and
        error, and one that fails is rolled back alone (FAILED, with its error) while the others still apply.
        All commit with `first`, or none do (a crash or a lost connection puts them back in the queue)."""
        followed: list[Followed] = []
        while len(followed) < self.settings.worker_batch_tasks:
            task = await self.queue.claim_next_in_catalog(conn, first.catalog_id, holder, BATCHED, BATCH_MAX_RECORDS)
            if task is None:
                break
            async with observe.scope(self.engine, task, conn):
                log.info("task %d (%s) started after task %d, in its transaction", task.id, task.type, first.id)
                followed.append(await self._apply_following(conn, task, holder))
        return followed

    async def _apply_following(self, conn: AsyncConnection, task: ClaimedTask, holder: str) -> Followed:
        """One task of _follow, in a savepoint of `conn`'s transaction, finished with its own outcome and errors."""
        history = self.settings.history_retention_seconds > 0
        ctx = TaskContext(conn=conn, engine=self.engine, task=task, settings=self.settings, worker_id=holder)
        try:
            async with conn.begin_nested():
                # Each follower's record changes are its own in the history.
                if history:
                    await begin_history(conn, task.id, task.type)
                result = await HANDLERS[task.type](ctx)
                if history:
                    await end_history(conn)
        except TaskFailed as failure:
            report = task_errors.failure_report(ctx.reported, failure, self.settings.max_reported_errors)
            error = task_errors.with_count(failure.as_dict(), report)
        except Exception as exc:
            if is_database_outage(exc):
                raise
            error = _unexpected(task, exc)
            report = None
        else:
            # Claimed in this transaction, by this worker (_follow): its finish cannot be refused.
            _, result = await self._finish_done(ctx, holder, result)
            return Followed(task, TaskStatus.DONE, ctx.records_applied, result, None)
        await self.queue.finish(
            conn, task.id, holder, TaskStatus.FAILED, error=error, records_seen=ctx.records_seen, records_applied=0
        )
        await task_errors.store(conn, task.id, report)
        return Followed(task, TaskStatus.FAILED, 0, None, error)

    async def _finish_done(self, ctx: TaskContext, holder: str, result: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        """Finish ctx's task DONE in its transaction, the records refused under on_invalid=SKIP counted in its
        result and stored (nothing without one). (Whether it was finished: not when another worker took the task
        over; the result.)"""
        result = task_errors.with_count(result, ctx.reported)
        await task_errors.store(ctx.conn, ctx.task.id, ctx.reported)
        finished = await self.queue.finish(
            ctx.conn,
            ctx.task.id,
            holder,
            TaskStatus.DONE,
            result=result,
            records_seen=ctx.records_seen,
            records_applied=ctx.records_applied,
        )
        return finished, result

    async def _followed(self, followed: list[Followed]) -> None:
        """What a task's outcome sets off once committed, for the tasks that followed another."""
        for one in followed:
            async with observe.scope(self.engine, one.task):
                await self._followed_one(one)

    async def _followed_one(self, one: Followed) -> None:
        log.info("task %d %s", one.task.id, "done" if one.status == TaskStatus.DONE else "failed")
        observe.finished(one.task, one.status, one.applied, one.result)
        if one.status == TaskStatus.FAILED and one.task.notification_email:
            async with self.engine.connect() as conn:
                section = (
                    await conn.execute(select(Catalog.name).where(Catalog.id == one.task.catalog_id))
                ).scalar_one()
            await notify.send_failure(self.settings, one.task.notification_email, one.task.id, section, one.error or {})

    async def _dry_run(self, ctx: TaskContext, handler: Handler) -> None:
        """Do the task's work, read what it would change, roll it all back; the task is DONE with its preview
        (also when the real run would fail), without webhook or email."""
        task, conn = ctx.task, ctx.conn
        params = task.params
        failures: list[TaskFailed] = []
        result = await previews.dry_run(
            conn,
            (lambda: _int(params["version_id"])) if "version_id" in params else ctx.active_version_id,
            lambda: handler(ctx),
            ctx.payload_connection,
            on_failure=failures.append,
        )
        await conn.rollback()
        # Every error the real run would report, listed by ListTaskErrors like a real task's.
        report = ctx.reported
        if failures:
            report = task_errors.failure_report(report, failures[0], self.settings.max_reported_errors)
        result = task_errors.with_count(result, report)
        if await self.queue.finish(
            conn,
            task.id,
            ctx.worker_id,
            TaskStatus.DONE,
            result=result,
            records_seen=ctx.records_seen,
            records_applied=0,
            webhook=False,
        ):
            if report:
                await task_errors.store(conn, task.id, report)
            if (hook := DRY_RUN_HOOKS.get(task.type)) is not None:
                await hook(conn, task, result)
            await conn.commit()
            log.info("task %d done (dry run, rolled back)", task.id)
            observe.finished(task, TaskStatus.DONE, 0, {})
        else:
            await conn.rollback()
            log.warning("task %d was taken over by another worker; rolled back", task.id)

    async def _until_recorded(self, task: ClaimedTask, holder: str, record: Callable[[], Awaitable[None]]) -> None:
        """Record a task's outcome, retrying with backoff while the database is away.

        Gives up only when the worker gave up the lease it held the task under (the task goes back to the
        queue then) or is stopped (its tasks are handed back on the way out).
        """
        delay = 0.2
        while True:
            try:
                await record()
                return
            except Exception as exc:
                if holder != self.id:
                    log.warning("task %d: lease given up; it is re-run", task.id)
                    return
                _log_failure(f"recording the outcome of task {task.id} failed; retrying in {delay:.1f}s", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _release(self, task: ClaimedTask, holder: str) -> None:
        async with self.engine.connect() as conn:
            await self.queue.release(conn, task.id, holder)

    async def _fail(
        self,
        task: ClaimedTask,
        holder: str,
        error: dict[str, Any],
        ctx: TaskContext | None,
        report: task_errors.ErrorReport | None = None,
    ) -> None:
        log.info("task %d failed: %s", task.id, error.get("message"))
        async with self.engine.connect() as conn:
            finished = await self.queue.finish(
                conn,
                task.id,
                holder,
                TaskStatus.FAILED,
                error=error,
                records_seen=ctx.records_seen if ctx else None,
                records_applied=0,
            )
            if finished:
                await task_errors.store(conn, task.id, report)
            if finished and (on_failure := FAILURE_HOOKS.get(task.type)) is not None:
                await on_failure(conn, task, error)
            await conn.commit()
            if finished:
                observe.finished(task, TaskStatus.FAILED)
            section = (await conn.execute(select(Catalog.name).where(Catalog.id == task.catalog_id))).scalar_one()
        if finished and task.notification_email:
            await notify.send_failure(self.settings, task.notification_email, task.id, section, error)


# The small record writes (the /v2 and gRPC record calls, bulk item updates): consecutive queued ones of a catalog
# are applied in one transaction (Worker._follow), each of at most BATCH_MAX_RECORDS records. None has a failure
# hook, so a failed one needs nothing but its status and error.
BATCHED = frozenset(
    {
        TaskType.RECORDS_REPLACE,
        TaskType.RECORDS_UPDATE,
        TaskType.RECORDS_DELETE,
        TaskType.BULK_ITEMS_REPLACE,
        TaskType.BULK_ITEMS_UPDATE,
    }
)
BATCH_MAX_RECORDS = 5_000


@dataclasses.dataclass(frozen=True)
class Followed:
    task: ClaimedTask
    status: TaskStatus
    applied: int
    result: dict[str, Any] | None
    error: dict[str, Any] | None


async def _int(value: object) -> int:
    return int(value)  # type: ignore[call-overload]


def _new_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _pending_purge_interval(settings: Settings) -> float:
    return min(max(settings.pending_upload_expiry_seconds / 4, 0.1), 60.0)


def _brief(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def _unexpected(task: ClaimedTask, exc: Exception) -> dict[str, Any]:
    """The error a task stores when its handler raised something else than TaskFailed (logged with its trace)."""
    log.exception("task %d failed unexpectedly", task.id)
    message = f"internal error ({type(exc).__name__}) while applying the task; see the worker log"
    return {"reason": ErrorReason.INTERNAL, "message": message}


def _log_failure(what: str, exc: BaseException) -> None:
    """A database outage is one line, not a stack trace per attempt; anything else keeps its trace."""
    if is_database_outage(exc):
        log.warning("%s: database unavailable (%s)", what, _brief(exc))
    else:
        log.error("%s", what, exc_info=exc)
