"""A deployment of separate `serve` processes on one database, as in production: a front (gRPC server and
gateway) and workers, with HTTP and gRPC clients, and a writer of small acknowledged writes to replay."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx

from service.auth import create_token
from service.db.engine import create_engine, session_factory
from service.db.migrate import upgrade
from tests.conftest import free_port
from tests.processes import spawn

TENANTS = ("acme", "globex")


@dataclass
class Deployment:
    database_url: str
    processes: list[subprocess.Popen[bytes]]
    tokens: dict[str, str]
    grpc_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    front: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def auth(self, tenant: str = "acme") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[tenant]}"}

    def metadata(self, tenant: str = "acme") -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.tokens[tenant]}"),)

    def start_front(self, **settings: object) -> subprocess.Popen[bytes]:
        self.front = spawn(
            self.processes,
            self.database_url,
            "grpc",
            "gateway",
            grpc_port=self.grpc_port,
            http_port=self.http_port,
            grpc_host="127.0.0.1",
            http_host="127.0.0.1",
            **settings,
        )
        return self.front

    def start_worker(self, **settings: object) -> subprocess.Popen[bytes]:
        worker = spawn(self.processes, self.database_url, "worker", **settings)
        self.workers.append(worker)
        return worker


async def tokens_for(database_url: str) -> dict[str, str]:
    """Migrate the database and make a token per tenant (what `catalog-ingest tokens create` does)."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with session_factory(engine)() as session:
            tokens = {tenant: await create_token(session, tenant) for tenant in TENANTS}
            await session.commit()
        return tokens
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def clients(deployment: Deployment) -> AsyncIterator[tuple[httpx.AsyncClient, grpc.aio.Channel]]:
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{deployment.http_port}", timeout=60)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{deployment.grpc_port}")
    try:
        yield http, channel
    finally:
        await http.aclose()
        await channel.close()


async def ingestion_ok(http: httpx.AsyncClient) -> bool:
    try:
        return (await http.get("/status/ingestion")).status_code == 200
    except httpx.HTTPError:
        return False


async def until(probe: Any, timeout: float = 60.0) -> float:
    """Poll `probe` (async, truthy when done) with a deadline; the seconds it took."""
    started = time.monotonic()
    while not await probe():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not reached within {timeout}s")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


@dataclass
class SmallWrites:
    """PUT /v2/items of one new item each, round robin over a few sections, until stopped. An acknowledged
    write (200 and a task id) must be applied; one that got an error may or may not be."""

    http: httpx.AsyncClient
    auth: dict[str, str]
    sections: int = 4
    acknowledged: dict[str, tuple[str, int]] = field(default_factory=dict)  # item id -> (section, task id)
    refused: collections.Counter[str] = field(default_factory=collections.Counter)
    tried: int = 0

    async def run(self, stop: asyncio.Event, pace: float = 0.2) -> None:
        while not stop.is_set():
            n = self.tried
            self.tried += 1
            section = f"small{n % self.sections}"
            item = {"id": f"w{n}", "name": f"v{n}"}
            try:
                response = await self.http.put(
                    "/v2/items", params={"section": section}, json={"items": [item]}, headers=self.auth
                )
            except httpx.HTTPError as error:
                self.refused[type(error).__name__] += 1
            else:
                if response.status_code == 200:
                    self.acknowledged[item["id"]] = (section, response.json()["task_id"])
                elif response.status_code == 503 and "retry-after" in response.headers:
                    self.refused["503 Retry-After"] += 1  # what a client retries: the database is away
                else:
                    self.refused[str(response.status_code)] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pace)

    @property
    def fivexx(self) -> int:
        """Server errors other than the 503 with Retry-After that an outage must answer."""
        return sum(count for code, count in self.refused.items() if code.startswith("5") and code != "503 Retry-After")

    async def lost(self) -> list[str]:
        """Acknowledged writes that do not read back as written."""
        missing = []
        for section in {s for s, _ in self.acknowledged.values()}:
            stored: dict[str, str] = {}
            page = 1
            while True:
                response = await self.http.get(
                    "/v2/items",
                    params={"section": section, "num_results_per_page": 1000, "page": page},
                    headers=self.auth,
                )
                assert response.status_code == 200, response.text
                items = response.json()["items"]
                stored.update({item["id"]: item.get("name") for item in items})
                if len(items) < 1000:
                    break
                page += 1
            missing += [i for i, (s, _) in self.acknowledged.items() if s == section and stored.get(i) != f"v{i[1:]}"]
        return missing


async def task_of(http: httpx.AsyncClient, auth: dict[str, str], task_id: int) -> dict[str, Any] | None:
    try:
        response = await http.get(f"/v1/task/{task_id}", headers=auth)
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None


async def all_finished(http: httpx.AsyncClient, auth: dict[str, str], task_ids: list[int]) -> list[dict[str, Any]]:
    """The tasks, once every one is DONE or FAILED (polled by the caller through `until`)."""
    tasks = [await task_of(http, auth, task_id) for task_id in task_ids]
    if any(task is None or task["status"] not in ("DONE", "FAILED", "CANCELED") for task in tasks):
        return []
    return tasks  # type: ignore[return-value]
