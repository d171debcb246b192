"""50 concurrent maximum-size requests of each kind against `catalog-ingest serve` in its own process: its
peak RSS stays under the documented bound, every request is answered 2xx or 429/503 with Retry-After (never
a 5xx), and every acknowledged write reads back.

`--long` sends 50 of the documented maximum (10 MB bodies, 60 MB files) at once against the default budget;
CI a smaller version of the same load (see the test). The bound scales with the budget, the fixed overhead
does not.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

from service.settings import Settings
from tests.conftest import BACKENDS
from tests.faults import large_bodies
from tests.faults.http_service import Service, serving
from tests.figures import record

MiB = 1024 * 1024
# What the process may hold beyond its idle RSS and the in-flight budget: the worker's tasks, the
# connections' buffers, answers being written, the allocator's fragmentation.
OVERHEAD_BYTES = 48 * MiB
ENVIRONMENT = "memory"


@dataclass
class Wave:
    kind: str
    tried: int = 0
    accepted: int = 0
    rejected: int = 0
    fivexx: int = 0
    other: list[str] = field(default_factory=list)
    peak_rss: int = 0
    checks: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


def peak_rss(pid: int) -> int:
    """The process's high-water RSS since the last reset (exact, from the kernel)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def judge(wave: Wave, response: httpx.Response) -> bool:
    """Whether the request was acknowledged; counts a refusal, fails on anything else."""
    wave.tried += 1
    if response.status_code == 200:
        wave.accepted += 1
        return True
    if response.status_code in (429, 503) and response.headers.get("retry-after", "").isdigit():
        wave.rejected += 1
        return False
    if response.status_code >= 500:
        wave.fivexx += 1
    wave.other.append(f"{response.status_code} {response.text[:200]}")
    return False


async def fire(service: Service, concurrency: int, wave: Wave, send: Callable[[int], Awaitable[None]]) -> None:
    """`send(i)` for i in 0..concurrency-1 all at once; the wave's peak RSS is the process's high-water mark."""

    async def one(i: int) -> None:
        try:
            await send(i)
        except httpx.TransportError as exc:
            wave.tried += 1
            wave.other.append(f"no answer: {exc!r}")

    pid = service.process.pid
    reset_peak(pid)
    await asyncio.gather(*(one(i) for i in range(concurrency)))
    wave.peak_rss = peak_rss(pid)


async def records_wave(service: Service, concurrency: int, size: int, count: int) -> Wave:
    wave = Wave("PUT /v2/items")
    bodies = [large_bodies.records_body(f"r{i}", size, count) for i in range(concurrency)]

    async def send(i: int) -> None:
        section = f"records-{i}"
        response = await service.http.put(
            "/v2/items",
            params={"section": section},
            content=bodies[i],
            headers={**service.auth, "Content-Type": "application/json"},
        )
        if judge(wave, response):
            task_id = response.json()["task_id"]

            async def check() -> None:
                await service.task_done(task_id)
                assert await service.count(section) == count

            wave.checks.append(check)

    await fire(service, concurrency, wave, send)
    return wave


async def bulk_wave(service: Service, concurrency: int, size: int, count: int) -> Wave:
    wave = Wave("PUT /data/v2/.../items")
    for i in range(concurrency):
        created = await service.http.post(
            "/data/v2/projects/acme/catalogs", json={"name": f"bulk-{i}", "fields": []}, headers=service.auth
        )
        assert created.status_code == 200, created.text
    bodies = [large_bodies.bulk_body(f"b{i}", size, count) for i in range(concurrency)]

    async def send(i: int) -> None:
        response = await service.http.put(
            f"/data/v2/projects/acme/catalogs/bulk-{i}/items",
            content=bodies[i],
            headers={**service.auth, "Content-Type": "application/json"},
        )
        if judge(wave, response):
            assert all(r["success"] == "True" for r in response.json())
            task_id = int(response.headers["x-task-id"])

            async def check() -> None:
                await service.task_done(task_id)
                assert await service.count(f"bulk-{i}") == count

            wave.checks.append(check)

    await fire(service, concurrency, wave, send)
    return wave


async def batch_wave(service: Service, concurrency: int, size: int, count: int) -> Wave:
    wave = Wave("POST /batch-imports/items")
    scope = {"tenant": "acme", "environment": ENVIRONMENT}
    created = await service.http.post("/catalogs", params={**scope, "createBatchImport": "true"}, headers=service.auth)
    assert created.status_code == 200, created.text
    version = created.json()["version"]
    bodies = [large_bodies.batch_items_body(f"i{i}", size, count) for i in range(concurrency)]
    added = 0

    async def send(i: int) -> None:
        nonlocal added
        response = await service.http.post(
            "/batch-imports/items",
            params={**scope, "batch_id": version},
            content=bodies[i],
            headers={**service.auth, "Content-Type": "application/json"},
        )
        if judge(wave, response):
            assert [r["code"] for r in response.json()] == [0] * count
            added += count

    await fire(service, concurrency, wave, send)

    async def check() -> None:
        started = await service.http.post(
            "/batch-imports/ingestions",
            params=scope,
            json={"catalogVersion": version, "promoteCatalogOnCompletion": True},
            headers=service.auth,
        )
        assert started.status_code == 200, started.text
        path = f"/batch-imports/ingestions/{started.json()['id']}"
        deadline = time.monotonic() + 600
        while (status := (await service.http.get(path, params=scope, headers=service.auth)).json())[
            "status"
        ] == "RUNNING":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
        assert status["status"] == "SUCCESS", status
        assert await service.count(ENVIRONMENT) == added

    wave.checks.append(check)
    return wave


async def csv_wave(service: Service, concurrency: int, size: int, rows: int) -> Wave:
    wave = Wave("PATCH /v1/catalog")

    async def send(i: int) -> None:
        boundary = uuid.uuid4().hex
        section = f"csv-{i}"
        response = await service.http.patch(
            "/v1/catalog",
            params={"section": section},
            content=large_bodies.multipart_csv(boundary, f"c{i}", size, rows),
            headers={**service.auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        if judge(wave, response):
            task_id = response.json()["task_id"]

            async def check() -> None:
                await service.task_done(task_id)
                assert await service.count(section) == rows

            wave.checks.append(check)

    await fire(service, concurrency, wave, send)
    return wave


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """CI runs this on PostgreSQL (the budget and the timeouts are the servers', not the database's); --long on
    both backends."""
    if metafunc.function.__name__ == "test_concurrent_maximum_size_requests_stay_under_the_memory_bound":
        metafunc.parametrize("backend", BACKENDS if metafunc.config.getoption("--long") else ["postgresql"])


async def test_concurrent_maximum_size_requests_stay_under_the_memory_bound(
    backend, database_url, processes, budget
) -> None:
    # --long: 50 requests of the documented maximum against the default budget. CI: 20 requests of an
    # eighth of it against a sixteenth of the budget (about the same demand per byte of budget). An upload
    # holds a fixed share whatever its file's size, so CI's files are just long enough to overlap.
    long = budget >= 10
    concurrency = 50 if long else 20
    scale = 1.0 if long else 1 / 8
    bound = Settings().max_inflight_bytes // (1 if long else 16)
    size = int(10_000_000 * scale)
    kinds = {
        "records": lambda service: records_wave(service, concurrency, size, int(1000 * scale)),
        "bulk": lambda service: bulk_wave(service, concurrency, size, int(5000 * scale)),
        "batch": lambda service: batch_wave(service, concurrency, size, int(2000 * scale)),
        "csv": lambda service: csv_wave(
            service, concurrency, 60_000_000 if long else 1_500_000, 20_000 if long else 2000
        ),
    }
    chosen = os.environ.get("MEMORY_BOUND_KINDS", ",".join(kinds)).split(",")
    waves = []
    async with serving(database_url, processes, max_inflight_bytes=bound) as service:
        idle = psutil.Process(service.process.pid).memory_info().rss
        limit = idle + bound + OVERHEAD_BYTES
        for kind in chosen:
            started = time.monotonic()
            wave = await kinds[kind](service)
            record(
                f"memory bound {backend} {wave.kind} x{concurrency}",
                tried=wave.tried,
                fivexx=wave.fivexx,
                peak_rss_mb=round(wave.peak_rss / MiB),
                idle_rss_mb=round(idle / MiB),
                bound_mb=round(limit / MiB),
                rejected_503=wave.rejected,
                failed=len(wave.other),
                seconds=round(time.monotonic() - started, 1),
            )
            waves.append(wave)
        started = time.monotonic()
        for wave in waves:
            for check in wave.checks:
                await check()
        record(f"memory bound {backend} read back", seconds=round(time.monotonic() - started, 1))
    for wave in waves:
        assert not wave.other, (wave.kind, wave.other[:3])
        assert wave.accepted >= concurrency // 5, (wave.kind, wave.accepted)
        assert wave.peak_rss <= limit, f"{wave.kind}: peak RSS {wave.peak_rss / MiB:.0f} MiB > {limit / MiB:.0f} MiB"
