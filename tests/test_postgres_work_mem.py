"""PostgreSQL: a large task's joins get more work_mem (service.store.postgres.LARGE_TASK_WORK_MEM) for its own
transaction only; the pooled connection it ran on keeps the server's setting for the next task."""

from __future__ import annotations

import asyncpg

from service.store.postgres import ANALYZE_ABOVE, LARGE_TASK_WORK_MEM, PostgresRecordStore
from tests.contract.conftest import op


async def _work_mem(conn: asyncpg.Connection) -> str:
    return await conn.fetchval("SHOW work_mem")


async def test_a_large_task_raises_work_mem_until_its_transaction_ends(pg_url: str) -> None:
    conn = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        default = await _work_mem(conn)
        assert default != LARGE_TASK_WORK_MEM
        async with conn.transaction():
            small = PostgresRecordStore(conn, 1)
            await small.stage([op(f"r{n}", seq=n) for n in range(ANALYZE_ABOVE)])
            await small.analyze()
            assert await _work_mem(conn) == default
        async with conn.transaction():
            large = PostgresRecordStore(conn, 1)
            await large.stage([op(f"r{n}", seq=n) for n in range(ANALYZE_ABOVE + 1)])
            await large.analyze()
            assert await _work_mem(conn) == LARGE_TASK_WORK_MEM
        assert await _work_mem(conn) == default
        # A server (or role) setting above it is never lowered.
        await conn.execute("SET work_mem = '256MB'")
        async with conn.transaction():
            large = PostgresRecordStore(conn, 1)
            await large.stage([op(f"r{n}", seq=n) for n in range(ANALYZE_ABOVE + 1)])
            await large.analyze()
            assert await _work_mem(conn) == "256MB"
    finally:
        await conn.close()
