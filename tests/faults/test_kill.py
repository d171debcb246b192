"""kill -9 of each role (the front with the gateway, the worker) at random moments while a CSV sync, a
record stream and small writes go on: every acknowledged write is applied as a replay says, nothing is
half-applied, and what a killed front left half-uploaded is purged."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
from dataclasses import dataclass, field

import grpc
import httpx
from sqlalchemy import text

from catalogingest.v1 import catalog_pb2, catalog_pb2_grpc, record_pb2
from service.db.engine import create_engine
from tests.faults.deployment import Deployment, SmallWrites, all_finished, clients, ingestion_ok, tokens_for, until
from tests.figures import record


@dataclass(frozen=True)
class Sizes:
    """What each upload carries. CI's are small (each kill still lands in a sync, a stream or a small write);
    --long's are larger, so that kills land inside a sync's upload or apply more often."""

    sync_items: int
    stream_batches: int
    stream_batch: int

    @classmethod
    def for_budget(cls, budget: int) -> Sizes:
        return cls(5_000, 5, 1000) if budget > 1 else cls(1_000, 2, 500)


SETTINGS = {"pending_upload_expiry_seconds": 2.0}


@dataclass
class Acknowledged:
    syncs: list[tuple[int, int]] = field(default_factory=list)  # (round tag, task id)
    streams: list[tuple[int, int]] = field(default_factory=list)  # (stream number, task id)
    refused: int = 0
    tried: int = 0


async def sync_loop(
    http: httpx.AsyncClient, auth: dict[str, str], stop: asyncio.Event, acked: Acknowledged, sizes: Sizes
) -> None:
    tag = 0
    while not stop.is_set():
        tag += 1
        acked.tried += 1
        body = b"id,item_name\n" + "".join(f"p{n},Item {n} t{tag}\n" for n in range(sizes.sync_items)).encode()
        try:
            response = await http.put("/v1/catalog", files={"items": ("items.csv", body)}, headers=auth)
        except httpx.HTTPError:
            response = None
        if response is not None and response.status_code == 200:
            acked.syncs.append((tag, response.json()["task_id"]))
        else:
            acked.refused += 1
        await pause(stop)


async def stream_loop(
    channel: grpc.aio.Channel, metadata: tuple, stop: asyncio.Event, acked: Acknowledged, sizes: Sizes
) -> None:
    stub = catalog_pb2_grpc.CatalogServiceStub(channel)
    number = 0
    while not stop.is_set():
        number += 1
        acked.tried += 1

        async def requests(number: int = number):
            header = catalog_pb2.StreamRecordsHeader(
                section="streamed", collection="items", mode=catalog_pb2.WRITE_MODE_REPLACE
            )
            yield catalog_pb2.StreamRecordsRequest(header=header)
            for b in range(sizes.stream_batches):
                records = [
                    record_pb2.Record(id=f"s{number}-{b * sizes.stream_batch + i}", name=f"S{number}")
                    for i in range(sizes.stream_batch)
                ]
                yield catalog_pb2.StreamRecordsRequest(batch=record_pb2.RecordBatch(records=records))

        try:
            response = await stub.StreamRecords(requests(), metadata=metadata, timeout=60)
            acked.streams.append((number, response.task_id))
        except grpc.aio.AioRpcError:
            acked.refused += 1
        await pause(stop)


async def pause(stop: asyncio.Event, seconds: float = 0.5) -> None:
    """Between two uploads of a loop (a client's pace, also after a refusal)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def count_streamed(http: httpx.AsyncClient, auth: dict[str, str], number: int, sizes: Sizes) -> int:
    ids = [f"s{number}-{i}" for i in (0, sizes.stream_batches * sizes.stream_batch - 1)]
    response = await http.get("/v2/items", params={"section": "streamed", "id": ids}, headers=auth)
    assert response.status_code == 200, response.text
    return sum(1 for item in response.json()["items"] if item["name"] == f"S{number}")


async def test_kill_9_of_each_role_loses_no_acknowledged_write(pg_url: str, processes: list, budget: int) -> None:
    sizes = Sizes.for_budget(budget)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    deployment = Deployment(pg_url, processes, await tokens_for(pg_url))
    deployment.start_front(**SETTINGS)
    deployment.start_worker(**SETTINGS)
    auth = deployment.auth()
    kills = {"front": 0, "worker": 0}
    async with clients(deployment) as (http, channel):
        await until(lambda: ingestion_ok(http))
        stop = asyncio.Event()
        writes, acked = SmallWrites(http, auth), Acknowledged()
        load = [
            asyncio.create_task(writes.run(stop, pace=0.2)),
            asyncio.create_task(sync_loop(http, auth, stop, acked, sizes)),
            asyncio.create_task(stream_loop(channel, deployment.metadata(), stop, acked, sizes)),
        ]
        try:
            for round_ in range(2 * budget):
                role = ("front", "worker")[round_ % 2]
                # A random moment: somewhere in a sync's upload or apply, a stream, a small write.
                await asyncio.sleep(rng.uniform(0.3, 2.0))
                victim = deployment.front if role == "front" else deployment.workers[-1]
                assert victim is not None
                victim.send_signal(signal.SIGKILL)
                await asyncio.to_thread(victim.wait, 10)
                kills[role] += 1
                if role == "front":
                    deployment.start_front(**SETTINGS)
                else:
                    deployment.start_worker(**SETTINGS)
                await until(lambda: ingestion_ok(http), timeout=60)
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.gather(*load, return_exceptions=True), 90)

        task_ids = [t for _, t in writes.acknowledged.values()] + [t for _, t in acked.syncs + acked.streams]
        started = time.monotonic()
        await until(lambda: all_finished(http, auth, task_ids), timeout=180)
        drained = time.monotonic() - started
        tasks = await all_finished(http, auth, task_ids)
        not_done = [t for t in tasks if t["status"] != "DONE"]
        lost = await writes.lost()
        # Each acknowledged stream reads back whole; the catalog holds the last acknowledged sync, whole.
        lost += [f"stream {n}" for n, _ in acked.streams if await count_streamed(http, auth, n, sizes) != 2]
        listed = (await http.get("/v2/items", params={"num_results_per_page": 1}, headers=auth)).json()
        half_applied = 0
        if acked.syncs:
            last_tag = acked.syncs[-1][0]
            if listed["total_count"] != sizes.sync_items or not listed["items"][0]["name"].endswith(f" t{last_tag}"):
                half_applied = 1
    # What killed fronts left half-uploaded is deleted by the workers' purge.
    engine = create_engine(pg_url)
    try:

        async def leftovers() -> bool:
            async with engine.connect() as conn:
                return (
                    await conn.execute(text("SELECT count(*) FROM tasks WHERE status = 'PENDING'"))
                ).scalar_one() == 0

        await until(leftovers, timeout=30)
    finally:
        await engine.dispose()
    record(
        "fault kill -9 (front and worker, during a sync, streams and small writes)",
        seed=seed,
        kills=kills,
        tried=writes.tried + acked.tried,
        acknowledged=len(task_ids),
        lost=len(lost),
        half_applied=half_applied,
        not_done=len(not_done),
        refused=writes.fivexx + acked.refused,
        drained_s=f"{drained:.1f}",
    )
    assert (lost, half_applied, not_done) == ([], 0, [])
