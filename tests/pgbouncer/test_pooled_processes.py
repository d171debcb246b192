"""Two worker processes and a front (gRPC + gateway) sharing a few PgBouncer server connections: small writes to
several catalogs from many clients at once all end DONE, one at a time and in submission order per catalog,
while PgBouncer never opens more server connections than its pool. The same run direct (no pooler) gives the
figure to compare with: tasks/s of small writes, and the server connections each way."""

from __future__ import annotations

import asyncio
import itertools
import time
from urllib.parse import urlsplit

import pytest

from catalogingest.v1 import task_pb2
from tests.conftest import start_stack
from tests.figures import record
from tests.helpers import eventually, wait_task
from tests.pgbouncer_instance import PgBouncer
from tests.processes import spawn
from tests.test_processes import live_workers

CATALOGS = 8
WRITES_PER_CATALOG = 12
CLIENTS = 16


async def _server_connections(stack, direct_url: str) -> int:
    """Connections the server has to the test's database, besides this one."""
    from sqlalchemy import text

    from service.db.engine import create_engine

    engine = create_engine(direct_url)
    try:
        async with engine.connect() as conn:
            return (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid()"
                    )
                )
            ).scalar_one()
    finally:
        await engine.dispose()


@pytest.mark.parametrize("route", ["pgbouncer", "direct"])
async def test_two_worker_processes_and_a_front_through_pgbouncer(
    route: str, pg_url: str, direct_url: str, pgbouncer: PgBouncer, processes
) -> None:
    url = pg_url if route == "pgbouncer" else direct_url
    database = urlsplit(direct_url).path.lstrip("/")
    async with start_stack(url, worker=False) as stack:
        for _ in range(2):
            spawn(processes, url, "worker")
        await eventually(lambda: live_workers(stack), lambda n: n == 2, timeout=60)

        # Each catalog gets the writes 0..N-1 to the same item: the last one applied must be the last submitted.
        work = [(f"C{c}", n) for n in range(WRITES_PER_CATALOG) for c in range(CATALOGS)]
        submitted: dict[str, list[int]] = {f"C{c}": [] for c in range(CATALOGS)}
        peak = {"servers": 0, "clients": 0}
        sampling = True

        async def sample() -> None:
            while sampling:
                if route == "pgbouncer":
                    pools = [row for row in pgbouncer.show("POOLS") if row["database"] == database]
                    peak["servers"] = max(peak["servers"], pgbouncer.server_connections(database))
                    peak["clients"] = max(
                        peak["clients"], sum(int(r["cl_active"]) + int(r["cl_waiting"]) for r in pools)
                    )
                else:
                    peak["servers"] = max(peak["servers"], await _server_connections(stack, direct_url))
                await asyncio.sleep(0.2)

        lock = asyncio.Lock()  # submission order per catalog is the order the writes are acknowledged

        async def client(jobs: list[tuple[str, int]]) -> None:
            for section, n in jobs:
                async with lock:
                    answer = await stack.http.put(
                        "/v2/items",
                        params={"key": "acme", "section": section},
                        json={"items": [{"id": "shared", "name": f"{section}-{n}"}, {"id": f"{section}-{n}"}]},
                        headers=stack.auth(),
                    )
                    assert answer.status_code == 200, answer.text
                    submitted[section].append(answer.json()["task_id"])

        sampler = asyncio.create_task(sample())
        started = time.monotonic()
        await asyncio.gather(*(client(work[i::CLIENTS]) for i in range(CLIENTS)))
        tasks = {
            section: [await wait_task(stack, task_id, timeout=120) for task_id in ids]
            for section, ids in submitted.items()
        }
        elapsed = time.monotonic() - started
        sampling = False
        await sampler

        for section, mine in tasks.items():
            assert {t.status for t in mine} == {task_pb2.TASK_STATUS_DONE}, [t.error for t in mine]
            for earlier, later in itertools.pairwise(mine):
                assert earlier.finish_time.ToDatetime() <= later.start_time.ToDatetime(), (earlier, later)
            read = await stack.http.get(
                "/v2/items", params={"key": "acme", "section": section, "id": "shared"}, headers=stack.auth()
            )
            assert read.json()["items"][0]["name"] == f"{section}-{WRITES_PER_CATALOG - 1}", read.text
        total = CATALOGS * WRITES_PER_CATALOG
        if route == "pgbouncer":
            assert peak["servers"] <= pgbouncer.pool_size
        record(
            f"small writes, 2 worker processes + front, {route}",
            tasks=total,
            tasks_per_s=f"{total / elapsed:.1f}",
            peak_server_connections=peak["servers"],
            peak_pooled_clients=peak["clients"] if route == "pgbouncer" else "-",
        )
