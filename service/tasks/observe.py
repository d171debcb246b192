"""What each task run leaves behind: log lines that name it and its request, its metrics, its trace span;
and the queue's gauges, sampled from the database by the workers."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service import log_context, tracing
from service.db.models import Task
from service.interceptors import request_id
from service.metrics import process_metrics
from service.store.staged import COUNT_FIELDS, KIND_NAMES
from service.tasks import queue
from service.tasks.queue import ClaimedTask
from service.tasks.queue_backends import queue_store
from service.tasks.trace_context import origin

log = logging.getLogger(__name__)
# What a catalog upload's result counts as written, per kind.
WRITTEN = tuple(f for f in COUNT_FIELDS if f in ("created", "updated", "deleted"))
OTHER_KIND = "other"

_started: contextvars.ContextVar[float] = contextvars.ContextVar("task_started")


async def run(engine: AsyncEngine, task: ClaimedTask, apply: Callable[[ClaimedTask], Awaitable[None]]) -> None:
    """Run `apply(task)` (in its own asyncio task) with the task's request id, tenant, id and catalog on every
    log line, inside a span that continues the submitting request's trace."""
    async with scope(engine, task):
        await apply(task)


@contextlib.asynccontextmanager
async def scope(engine: AsyncEngine, task: ClaimedTask, conn: AsyncConnection | None = None) -> AsyncIterator[None]:
    """The task's request id, tenant, id and catalog on every log line of the block, inside a span that continues
    the submitting request's trace; what was bound before comes back after it (a task applied in another's
    transaction, Worker._follow, which reads where it comes from on that transaction's `conn`)."""
    found = None
    try:
        found = await origin(conn or engine, task.id)
    except Exception as exc:  # only labels are lost: the task still runs, and its outcome is what matters
        log.warning("task %d: could not read where it comes from (%s)", task.id, type(exc).__name__)
    rid = request_id.set((found.request_id or "") if found else "")
    started = _started.set(time.perf_counter())
    carrier = {tracing.TRACEPARENT: found.traceparent} if found and found.traceparent else {}
    try:
        with (
            log_context.scoped(
                task_id=task.id, tenant=found.tenant if found else None, catalog=found.catalog if found else None
            ),
            tracing.server_span(f"task {task.type}", carrier, kind="consumer") as span,
        ):
            tracing.annotate(span, {"catalog_ingest.task.id": task.id, "catalog_ingest.task.type": task.type})
            yield
    finally:
        _started.reset(started)
        request_id.reset(rid)


def finished(task: ClaimedTask, status: str, records_applied: int = 0, result: Any = None) -> None:
    """Count a task whose outcome (DONE, FAILED) was written by this worker."""
    metrics = process_metrics()
    metrics.tasks.labels(task.type, status).inc()
    try:
        metrics.task_duration.labels(task.type).observe(time.perf_counter() - _started.get())
    except LookupError:
        pass
    for kind, count in applied_by_kind(task, records_applied, result).items():
        if count:
            metrics.records_applied.labels(kind).inc(count)


def canceled(task_type: str) -> None:
    """Count a task canceled before it ran (by the gRPC server that took the request: no worker saw it)."""
    process_metrics().tasks.labels(task_type, "CANCELED").inc()


def applied_by_kind(task: ClaimedTask, records_applied: int, result: Any) -> dict[str, int]:
    """A catalog upload's result counts each kind; a write of one kind says which in its params."""
    if isinstance(result, dict) and result and set(result) <= set(KIND_NAMES.values()):
        counts = {kind: sum(int(c.get(f, 0)) for f in WRITTEN) for kind, c in result.items() if isinstance(c, dict)}
        if counts:
            return counts
    kind = KIND_NAMES.get(task.params.get("kind")) if isinstance(task.params, dict) else None
    return {kind or OTHER_KIND: records_applied}


async def sample_queue(engine: AsyncEngine, lease_timeout: float) -> None:
    """Set the queue gauges from the database: one grouped read of the unfinished tasks (a partial index
    holds them), the live workers, and the database clock that ages the oldest task."""
    metrics = process_metrics()
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(Task.status, func.count(), func.min(Task.submission_time))
                .where(Task.status.in_(queue.UNFINISHED))
                .group_by(Task.status)
            )
        ).all()
        now = (await conn.execute(select(queue_store(conn).clock.now()))).scalar_one()
        live = await queue.live_workers(conn, lease_timeout)
    depth = {status: 0 for status in queue.UNFINISHED}
    oldest: dt.datetime | None = None
    for status, count, first in rows:
        depth[status] = count
        if status == "QUEUED":
            oldest = first
    for status, count in depth.items():
        metrics.queue_depth.labels(status).set(count)
    metrics.queue_oldest_age.set(max(0.0, (_utc(now) - _utc(oldest)).total_seconds()) if oldest else 0.0)
    metrics.workers_live.set(live)


def _utc(value: dt.datetime | str) -> dt.datetime:
    if isinstance(value, str):  # SQLite's clock text, if the driver leaves it unparsed
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
