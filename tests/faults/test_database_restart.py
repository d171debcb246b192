"""Separate `serve` processes (a front with the gateway, a worker) on the test's own PostgreSQL, a 50k-item
(CI: 5k) CSV sync in progress and small writes going on, then a PostgreSQL restart or immediate stop: every
acknowledged task ends DONE (never stuck), no catalog stays blocked, and what reads back matches a replay."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.faults.deployment import (
    Deployment,
    SmallWrites,
    all_finished,
    clients,
    ingestion_ok,
    task_of,
    tokens_for,
    until,
)
from tests.figures import record
from tests.pg_instance import PgInstance

# The sync's size: --long's 50k items are applied for seconds; CI's 5k are enough, since the worker's test
# delay keeps every task in its transaction for a second anyway.
ITEMS = {"long": 50_000, "ci": 5_000}
LEASE = 2.0  # the lease tests.processes.spawn gives every process


def items_csv(round_: int, items: int) -> bytes:
    return b"id,item_name\n" + "".join(f"p{n},Item {n} r{round_}\n" for n in range(items)).encode()


@pytest.mark.parametrize("mode", ["restart", "immediate"])
async def test_serve_processes_recover_from_a_database_outage(
    postgres_instance: PgInstance, own_pg_url: str, processes: list, mode: str, budget: int
) -> None:
    items = ITEMS["long" if budget > 1 else "ci"]
    deployment = Deployment(own_pg_url, processes, await tokens_for(own_pg_url))
    deployment.start_front(worker_lease_timeout=LEASE)
    # A second of applied-but-uncommitted time per task: the sync is surely in its transaction at the outage.
    deployment.start_worker(worker_lease_timeout=LEASE, test_fault="apply_delay:1.0")
    auth = deployment.auth()
    async with clients(deployment) as (http, _channel):
        await until(lambda: ingestion_ok(http))
        writes = SmallWrites(http, auth)
        stop = asyncio.Event()
        writer = asyncio.create_task(writes.run(stop, pace=0.3))
        syncs, recoveries, drained = [], [], []
        try:
            for round_ in range(budget):
                response = await http.put(
                    "/v1/catalog",
                    params={"force": "true"},
                    files={"items": ("items.csv", items_csv(round_, items))},
                    headers=auth,
                )
                assert response.status_code == 200, response.text
                sync = response.json()["task_id"]
                syncs.append(sync)

                async def sync_running(sync: int = sync) -> bool:
                    task = await task_of(http, auth, sync)
                    return task is not None and task["status"] == "IN_PROGRESS"

                await until(sync_running)
                if mode == "restart":
                    await asyncio.to_thread(postgres_instance.restart)
                else:
                    await asyncio.to_thread(postgres_instance.stop, "immediate")
                    await until(lambda: _not(ingestion_ok(http)), timeout=30)
                    await asyncio.to_thread(postgres_instance.start)
                back = time.monotonic()
                await until(lambda sync=sync: all_finished(http, auth, [sync]), timeout=6 * LEASE + 30)
                recoveries.append(time.monotonic() - back)
                await until(lambda: ingestion_ok(http), timeout=30)
        finally:
            stop.set()
            await writer
        acknowledged = [task for _, task in writes.acknowledged.values()] + syncs
        started = time.monotonic()
        await until(lambda: all_finished(http, auth, acknowledged), timeout=120)
        drained.append(time.monotonic() - started)
        tasks = await all_finished(http, auth, acknowledged)
        not_done = [t for t in tasks if t["status"] != "DONE"]
        assert not not_done, not_done
        # The sync's records: all of the last round, nothing of a half-applied attempt.
        listed = await http.get("/v2/items", params={"num_results_per_page": 1}, headers=auth)
        assert listed.status_code == 200, listed.text
        assert listed.json()["total_count"] == items
        half_applied = 0 if listed.json()["items"][0]["name"].endswith(f"r{budget - 1}") else 1
        lost = await writes.lost()
    assert (lost, half_applied, writes.fivexx) == ([], 0, 0), writes.refused
    record(
        f"fault database {mode} (serve processes, {items // 1000}k-item sync + small writes)",
        tried=writes.tried + len(syncs),
        acknowledged=len(acknowledged),
        lost=len(lost),
        half_applied=half_applied,
        fivexx=writes.fivexx,
        refused=dict(writes.refused),
        recovery_s=f"{max(recoveries):.1f}",
        drained_s=f"{max(drained):.1f}",
    )


async def _not(probe: asyncio.Future | object) -> bool:
    return not await probe  # type: ignore[misc]
