"""Helpers of the observability tests: a parsed /metrics scrape, and a split deployment in real processes."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from service.auth import create_token
from service.db.engine import create_engine, session_factory
from service.db.migrate import upgrade
from tests.conftest import free_port
from tests.helpers import eventually
from tests.processes import spawn

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text exposition, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(client: httpx.AsyncClient, url: str) -> Samples:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 when the series does not exist yet (a counter nothing has moved)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@dataclass
class Split:
    """gRPC server and gateway in one process, a worker in another, on one PostgreSQL database (or all roles in
    one process)."""

    front: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]
    http_url: str
    worker_metrics_url: str
    token: str

    def auth(self) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@contextlib.asynccontextmanager
async def split_deployment(
    database_url: str, started: list, log_level: str = "WARNING", together: bool = False, **settings: object
) -> AsyncIterator[Split]:
    """`together`: all roles in one process (SQLite serves one process); `front` and `worker` are that one."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with session_factory(engine)() as session:
            token = await create_token(session, "acme")
            await session.commit()
    finally:
        await engine.dispose()
    http_port, metrics_port = free_port(), free_port()
    ports = {"http_port": http_port, "grpc_port": free_port()}
    if together:
        front = worker = spawn(
            started, database_url, "grpc", "gateway", "worker", log_level=log_level, **ports, **settings
        )
        metrics_url = f"http://127.0.0.1:{http_port}/metrics"
    else:
        front = spawn(started, database_url, "grpc", "gateway", log_level=log_level, **ports, **settings)
        worker = spawn(started, database_url, "worker", log_level=log_level, metrics_port=metrics_port, **settings)
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    split = Split(front, worker, f"http://127.0.0.1:{http_port}", metrics_url, token)

    async def up() -> bool:
        async with httpx.AsyncClient(timeout=2) as client:
            try:
                health = await client.get(f"{split.http_url}/status/ingestion")
                metrics = await client.get(split.worker_metrics_url)
            except httpx.TransportError:
                return False
        return health.status_code == 200 and metrics.status_code == 200

    await eventually(up, bool, timeout=60)
    yield split
