"""Whether the ingestion system can make progress: the database answers and a worker holds a live lease.

The same rule answers `/status/ingestion` (GetIngestionStatus) and the gRPC health service's
`ingestion` entry; the server's own entries ("" and each service) follow the database alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from grpc_health.v1 import health, health_pb2
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.error_reasons import ErrorReason
from service.errors import Unavailable
from service.tasks import queue

log = logging.getLogger(__name__)
# The gRPC health service name that reports the ingestion system (as /status/ingestion does).
INGESTION = "ingestion"


async def ingestion_problem(sessions: async_sessionmaker[AsyncSession], lease_timeout: float) -> Unavailable | None:
    """None when healthy; otherwise what is wrong, as the UNAVAILABLE error to answer with."""
    try:
        async with asyncio.timeout(max(lease_timeout, 1.0)), sessions() as session:
            await session.execute(text("SELECT 1"))
            workers = await queue.live_workers(session, lease_timeout)
    except Exception as exc:
        return Unavailable(f"database unreachable: {type(exc).__name__}", reason=ErrorReason.DATABASE_UNAVAILABLE)
    if workers == 0:
        return Unavailable(
            f"no live worker is processing tasks (none renewed its lease in the last {lease_timeout:g}s)",
            reason=ErrorReason.NO_LIVE_WORKER,
        )
    return None


async def watch(
    servicer: health.aio.HealthServicer,
    names: tuple[str, ...],
    sessions: async_sessionmaker[AsyncSession],
    lease_timeout: float,
    interval: float,
) -> None:
    """Keep the health service's answers current until cancelled: NOT_SERVING while a check fails, SERVING
    again on its own once it passes."""
    serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
    while True:
        problem = await ingestion_problem(sessions, lease_timeout)
        database_down = problem is not None and problem.reason == ErrorReason.DATABASE_UNAVAILABLE
        with contextlib.suppress(Exception):
            for name in names:
                await servicer.set(name, not_serving if database_down else serving)
            await servicer.set(INGESTION, not_serving if problem else serving)
        await asyncio.sleep(interval)
