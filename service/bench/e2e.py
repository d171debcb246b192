"""The service end to end: `catalog-ingest serve` in its own process, driven over HTTP and gRPC as a client
would drive it, each measurement from the first byte sent to its task(s) DONE; the service's RSS sampled."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import grpc
import httpx
import orjson
import psutil

from catalogingest.v1 import catalog_pb2, catalog_pb2_grpc, record_pb2, task_pb2, task_pb2_grpc
from service.bench.synthetic import BRANDS, COLORS, FILES, CatalogShape


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def multipart_body(
    shape: CatalogShape, boundary: str, files: tuple[str, ...] = tuple(FILES)
) -> AsyncIterator[bytes]:
    """A multipart/form-data body with the synthetic CSV files, generated as it is sent."""
    for field in files:
        generate = FILES[field]
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{field}.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        for chunk in generate(shape):
            yield chunk
            await asyncio.sleep(0)
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


class RssSampler:
    """The peak of the summed RSS of some processes (and their children), sampled every 50 ms."""

    def __init__(self, *pids: int) -> None:
        self.processes = [psutil.Process(pid) for pid in pids]
        self.peak = 0
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> int:
        rss = 0
        for process in self.processes:
            try:
                rss += sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])
            except psutil.NoSuchProcess:
                pass
        self.peak = max(self.peak, rss)
        return rss

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0.05)

    def __enter__(self) -> RssSampler:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_: object) -> None:
        if self._task:
            self._task.cancel()


class CpuMeter:
    """CPU seconds (user + system) of the service's processes (and their children) and of the PostgreSQL
    backends serving its database: a figure of the work a measurement took that the other loads of a
    shared machine change far less than its wall time. A backend that exits between two readings is lost
    (the service's pool keeps its connections)."""

    def __init__(self, processes: list[psutil.Process], admin_dsn: str, database: str) -> None:
        self.processes = processes
        self.admin_dsn = admin_dsn
        self.database = database

    def _service(self) -> float:
        total = 0.0
        for process in self.processes:
            try:
                for p in [process, *process.children(recursive=True)]:
                    times = p.cpu_times()
                    total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    async def _backends(self) -> dict[int, float]:
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", self.database)
            pids = [row[0] for row in rows]
        finally:
            await conn.close()
        found = {}
        for pid in pids:
            try:
                times = psutil.Process(pid).cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            found[pid] = times.user + times.system
        return found

    async def reading(self) -> tuple[float, dict[int, float]]:
        return self._service(), await self._backends()

    @staticmethod
    def spent(before: tuple[float, dict[int, float]], after: tuple[float, dict[int, float]]) -> tuple[float, float]:
        """(service CPU s, PostgreSQL CPU s) between two readings."""
        database = sum(cpu - before[1].get(pid, 0.0) for pid, cpu in after[1].items())
        return after[0] - before[0], database


def start_service(
    database_url: str, split: bool = False, settings: dict[str, str] | None = None
) -> tuple[list[subprocess.Popen[bytes]], str, int, int]:
    """The service on free ports, and a token for tenant `bench`: (processes, token, http port, grpc port).

    `split` runs it as the scale-out path does on two cores: gateway and gRPC in one process, the
    worker in another; otherwise one process runs all three roles (`catalog-ingest serve`). None of the
    caller's CATALOG_INGEST_ variables reach it, only `settings` (variable -> value, `bench --service-env`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_INGEST_")}
    env.update(settings or {})
    env["CATALOG_INGEST_DATABASE_URL"] = database_url
    token = subprocess.run(
        [sys.executable, "-m", "service.cli", "--log-level", "WARNING", "tokens", "create", "--tenant", "bench"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    http_port, grpc_port = _free_port(), _free_port()
    env.update(CATALOG_INGEST_HTTP_PORT=str(http_port), CATALOG_INGEST_GRPC_PORT=str(grpc_port))
    serve = [sys.executable, "-m", "service.cli", "--log-level", "WARNING", "serve"]
    roles = [["--role=grpc", "--role=gateway"], ["--role=worker"]] if split else [[]]
    processes = [subprocess.Popen([*serve, *r], env=env, stderr=subprocess.PIPE) for r in roles]
    return processes, token, http_port, grpc_port


@dataclass
class Service:
    processes: list[subprocess.Popen[bytes]]
    token: str
    http: httpx.AsyncClient
    channel: grpc.aio.Channel
    rss: RssSampler

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def wait_task(self, task_id: int) -> dict:
        while True:
            task = (await self.http.get(f"/v1/task/{task_id}", headers=self.auth)).json()
            if task["status"] in ("DONE", "FAILED", "CANCELED"):
                if task["status"] != "DONE":
                    raise RuntimeError(f"benchmark task {task_id} did not succeed: {task}")
                return task
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running_service(
    database_url: str, split: bool = False, settings: dict[str, str] | None = None
) -> AsyncIterator[Service]:
    processes, token, http_port, grpc_port = await asyncio.to_thread(start_service, database_url, split, settings)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", timeout=None) as http:
            while True:
                try:
                    if (await http.get("/status/ingestion")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                for process in processes:
                    if process.poll() is not None:
                        detail = process.stderr.read().decode() if process.stderr else ""
                        raise RuntimeError(f"the service exited: {detail}")
                await asyncio.sleep(0.1)
            channel = grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}")
            try:
                with RssSampler(*(p.pid for p in processes)) as rss:
                    yield Service(processes, token, http, channel, rss)
            finally:
                await channel.close()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            await asyncio.to_thread(process.wait, 30)


async def csv_upload(service: Service, shape: CatalogShape) -> tuple[float, dict]:
    """PUT /v1/catalog with the three synthetic files streamed, to the task DONE."""
    boundary = uuid.uuid4().hex
    started = time.perf_counter()
    response = await service.http.put(
        "/v1/catalog",
        params={"key": "bench", "force": "true"},
        headers={**service.auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=multipart_body(shape, boundary),
    )
    response.raise_for_status()
    task = await service.wait_task(response.json()["task_id"])
    return time.perf_counter() - started, task


def _item(n: int) -> dict:
    return {
        "id": f"json-{n}",
        "name": f"{BRANDS[n % 8]} item {n}",
        "suggested_score": n % 100,
        "data": {"url": f"https://shop.example/j/{n}", "active": True, "brand": BRANDS[n % 8],
                 "facets": {"color": [COLORS[n % 8]]}},
    }  # fmt: skip


async def rest_writes(service: Service, items: int, clients: int = 8, per_call: int = 1000) -> float:
    """PUT /v2/items with `per_call` items a call from `clients` concurrent clients, to the last task DONE."""
    calls = list(range(0, items, per_call))
    task_ids: list[int] = []

    async def client(offset: int) -> None:
        for start in calls[offset::clients]:
            body = orjson.dumps({"items": [_item(n) for n in range(start, min(start + per_call, items))]})
            response = await service.http.put(
                "/v2/items",
                params={"section": "bench-rest"},
                content=body,
                headers={**service.auth, "Content-Type": "application/json"},
            )
            response.raise_for_status()
            task_ids.append(response.json()["task_id"])

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(clients)))
    # FIFO per catalog: once the last task is DONE, all are finished; check each one succeeded.
    for task_id in sorted(task_ids, reverse=True):
        await service.wait_task(task_id)
    return time.perf_counter() - started


async def grpc_stream(service: Service, items: int, per_message: int = 1000) -> float:
    """CatalogService.StreamRecords with `per_message` records a message, to the task DONE."""
    metadata = (("authorization", f"Bearer {service.token}"),)

    async def messages() -> AsyncIterator[catalog_pb2.StreamRecordsRequest]:
        yield catalog_pb2.StreamRecordsRequest(
            header=catalog_pb2.StreamRecordsHeader(
                section="bench-stream", collection="items", mode=catalog_pb2.WRITE_MODE_REPLACE
            )
        )
        for start in range(0, items, per_message):
            records = [
                record_pb2.Record(
                    id=f"s-{n}",
                    name=f"Streamed {n}",
                    suggested_score=n % 100,
                    data_json=orjson.dumps(
                        {"url": f"https://shop.example/s/{n}", "active": True, "facets": {"color": [COLORS[n % 8]]}}
                    ).decode(),
                )
                for n in range(start, min(start + per_message, items))
            ]
            yield catalog_pb2.StreamRecordsRequest(batch=record_pb2.RecordBatch(records=records))

    started = time.perf_counter()
    response = await catalog_pb2_grpc.CatalogServiceStub(service.channel).StreamRecords(messages(), metadata=metadata)
    tasks = task_pb2_grpc.TaskServiceStub(service.channel)
    while True:
        task = (await tasks.GetTask(task_pb2.GetTaskRequest(id=response.task_id), metadata=metadata)).task
        if task.status in (task_pb2.TASK_STATUS_DONE, task_pb2.TASK_STATUS_FAILED):
            break
        await asyncio.sleep(0.05)
    if task.status != task_pb2.TASK_STATUS_DONE:
        raise RuntimeError(f"the streamed task failed: {task.error}")
    return time.perf_counter() - started
