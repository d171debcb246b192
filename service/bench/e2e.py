"""The service end to end: `catalog-ingest serve` in its own process, an HTTP multipart upload of the
synthetic CSV files streamed from the generator, until the task is DONE; the service's peak RSS sampled."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import psutil

from service.bench.synthetic import FILES, CatalogShape


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
    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> int:
        try:
            processes = [self.process, *self.process.children(recursive=True)]
            rss = sum(p.memory_info().rss for p in processes)
        except psutil.NoSuchProcess:
            return self.peak
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


def start_service(database_url: str) -> tuple[subprocess.Popen[bytes], str, int]:
    """The service on free ports, and a token for tenant `bench`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_INGEST_")}
    env["CATALOG_INGEST_DATABASE_URL"] = database_url
    token = subprocess.run(
        [sys.executable, "-m", "service.cli", "--log-level", "WARNING", "tokens", "create", "--tenant", "bench"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    http_port, grpc_port = _free_port(), _free_port()
    env.update(CATALOG_INGEST_HTTP_PORT=str(http_port), CATALOG_INGEST_GRPC_PORT=str(grpc_port))
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "--log-level", "WARNING", "serve"], env=env, stderr=subprocess.PIPE
    )
    return server, token, http_port


async def run_e2e(database_url: str, shape: CatalogShape) -> tuple[float, int, dict]:
    """(seconds from the first byte uploaded to the task DONE, peak RSS in bytes, the task)."""
    server, token, http_port = await asyncio.to_thread(start_service, database_url)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", timeout=None) as http:
            while True:
                try:
                    if (await http.get("/status/ingestion")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None:
                    raise RuntimeError(f"the service exited: {server.stderr.read().decode() if server.stderr else ''}")
                await asyncio.sleep(0.1)
            boundary = uuid.uuid4().hex
            with RssSampler(server.pid) as rss:
                started = time.perf_counter()
                response = await http.put(
                    "/v1/catalog",
                    params={"key": "bench", "force": "true"},
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": f"multipart/form-data; boundary={boundary}",
                    },
                    content=multipart_body(shape, boundary),
                )
                response.raise_for_status()
                task_id = response.json()["task_id"]
                while True:
                    task = (await http.get(f"/v1/task/{task_id}", headers={"Authorization": f"Bearer {token}"})).json()
                    if task["status"] in ("DONE", "FAILED", "CANCELED"):
                        break
                    await asyncio.sleep(0.1)
                elapsed = time.perf_counter() - started
            if task["status"] != "DONE":
                raise RuntimeError(f"the benchmark task did not finish: {task}")
            return elapsed, rss.peak, task
    finally:
        server.terminate()
        server.wait(30)
