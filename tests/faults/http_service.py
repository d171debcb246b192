"""`catalog-ingest serve` in a process of its own, driven over HTTP as a client would drive it."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import httpx

from tests.conftest import free_port
from tests.processes import ROOT, spawn

CLIENT_CONNECTIONS = 100
# No keep-alive: a connection the server closes after its idle timeout, just as the client reuses it, would
# fail a request the server never saw.
CLIENT_LIMITS = httpx.Limits(max_connections=CLIENT_CONNECTIONS, max_keepalive_connections=0)


class Service:
    def __init__(
        self, process: subprocess.Popen[bytes], http: httpx.AsyncClient, token: str, database_url: str
    ) -> None:
        self.process = process
        self.database_url = database_url
        self.backend = "postgresql" if database_url.startswith("postgres") else "sqlite"
        self.http = http
        self.auth = {"Authorization": f"Bearer {token}"}

    async def task_done(self, task_id: int) -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            task = (await self.http.get(f"/v1/task/{task_id}", headers=self.auth)).json()
            if task["status"] in ("DONE", "FAILED", "CANCELED"):
                assert task["status"] == "DONE", task
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"task {task_id} did not finish")

    async def tasks(self, section: str) -> int:
        """The tasks of a catalog (by its section name)."""
        response = await self.http.get("/v1/tasks", params={"section": section}, headers=self.auth)
        assert response.status_code == 200, response.text
        return response.json()["total_count"]

    async def count(self, section: str) -> int:
        """The records of a catalog's items (0 when the catalog does not exist)."""
        response = await self.http.get(
            "/v2/items", params={"section": section, "num_results_per_page": 1}, headers=self.auth
        )
        if response.status_code == 404:
            return 0
        assert response.status_code == 200, response.text
        return response.json()["total_count"]


@contextlib.asynccontextmanager
async def serving(database_url: str, processes: list, *roles: str, **settings: object) -> AsyncIterator[Service]:
    """`serve` with `roles` (default: all three) and CATALOG_INGEST_* `settings`, ready for requests."""
    token = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "service.cli", "--database-url", database_url, "tokens", "create", "--tenant", "acme"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    http_port = free_port()
    process = spawn(
        processes,
        database_url,
        *roles,
        http_port=http_port,
        grpc_port=free_port(),
        bulk_rate_limit_requests=10_000,
        **settings,
    )
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", timeout=600, limits=CLIENT_LIMITS) as http:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/status/ingestion")).status_code == 200:
                    break
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "the service did not start"
            await asyncio.sleep(0.1)
        yield Service(process, http, token.stdout.strip(), database_url)
