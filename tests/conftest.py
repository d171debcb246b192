"""Real parts for every test: a fresh database per test (PostgreSQL and SQLite), an in-process gRPC
server on a free port with a worker, the gateway over real HTTP, and tokens for two tenants."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import httpx
import pytest
import uvicorn

from catalogingest.v1 import batch_pb2_grpc, catalog_pb2_grpc, task_pb2_grpc
from service.auth import create_token
from service.db.engine import create_engine, session_factory
from service.db.migrate import upgrade
from service.inflight import InflightBytes
from service.server import create_server
from service.settings import PREFIX, Settings
from service.tasks.worker import Worker
from tests.poolers import settings_for
from tests.ports import free_port

PG_ADMIN_URL = os.environ.get("CATALOG_INGEST_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = [b for b in os.environ.get("CATALOG_INGEST_TEST_BACKENDS", "postgresql,sqlite").split(",") if b]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        help="the long form of the model-based, fuzz and fault suites: 10x their CI budget",
    )


def pytest_configure(config: pytest.Config) -> None:
    from tests.figures import FIGURES_FILE

    if not hasattr(config, "workerinput"):  # the controlling process (xdist workers inherit the variable)
        handle, path = tempfile.mkstemp(prefix="figures-", suffix=".jsonl")
        os.close(handle)
        os.environ[FIGURES_FILE] = path


def pytest_unconfigure(config: pytest.Config) -> None:
    from tests.figures import FIGURES_FILE

    if not hasattr(config, "workerinput") and (path := os.environ.pop(FIGURES_FILE, None)):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.figures import lines

    if measured := lines():
        terminalreporter.section("figures")
        for line in measured:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def budget(request: pytest.FixtureRequest) -> int:
    """How many times the CI budget the model-based, fuzz and fault suites spend (10 with --long)."""
    return 10 if request.config.getoption("--long") else 1


@pytest.fixture(scope="session", autouse=True)
def _clean_environment() -> Iterator[None]:
    """Tests configure the service explicitly; nothing leaks in from the developer's shell."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(PREFIX)}
    for key in saved:
        del os.environ[key]
    yield
    os.environ.update(saved)


def _pg_url(database: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


@pytest.fixture(scope="session")
async def pg_template() -> AsyncIterator[str]:
    """A migrated database that each test clones (CREATE DATABASE ... TEMPLATE is fast)."""
    try:
        admin = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is required at {PG_ADMIN_URL} ({exc}); .ci/run starts it", pytrace=False)
    name = f"ci_template_{os.getpid()}"
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(_pg_url(name))
    await upgrade(engine)
    await engine.dispose()
    yield name
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = create_engine(f"sqlite:///{path}")
    await upgrade(engine)
    await engine.dispose()
    return path


async def create_pg_database(prefix: str = "ci", template: str | None = None) -> str:
    """A new database on the shared PostgreSQL (a clone of `template`, else empty); its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        await admin.close()
    return name


async def drop_pg_database(name: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def pg_url(pg_template: str) -> AsyncIterator[str]:
    name = await create_pg_database(template=pg_template)
    yield _pg_url(name)
    await drop_pg_database(name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "postgresql":
        return request.getfixturevalue("pg_url")
    template = request.getfixturevalue("sqlite_template")
    path = tmp_path / "catalog-ingest.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@dataclass
class Stack:
    """One running service: gRPC server, worker, gateway; tokens for tenants `acme` and `globex`."""

    settings: Settings
    database_url: str
    channel: grpc.aio.Channel
    http: httpx.AsyncClient
    tokens: dict[str, str]
    engine: Any
    _stop: list[Any] = field(default_factory=list)

    def metadata(self, tenant: str = "acme") -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.tokens[tenant]}"),)

    @property
    def catalog(self) -> catalog_pb2_grpc.CatalogServiceStub:
        return catalog_pb2_grpc.CatalogServiceStub(self.channel)

    @property
    def tasks(self) -> task_pb2_grpc.TaskServiceStub:
        return task_pb2_grpc.TaskServiceStub(self.channel)

    @property
    def batches(self) -> batch_pb2_grpc.BatchServiceStub:
        return batch_pb2_grpc.BatchServiceStub(self.channel)

    def auth(self, tenant: str = "acme") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[tenant]}"}


@contextlib.asynccontextmanager
async def start_stack(
    database_url: str, *, worker: bool = True, gateway: bool = True, shared_budget: bool = True, **overrides: Any
) -> AsyncIterator[Stack]:
    """Start gRPC server, worker and (optionally) the gateway in this event loop, each on a free port. Without
    `shared_budget`, the gateway has a memory budget of its own, as when it runs in another process."""
    defaults: dict[str, Any] = {
        "worker_poll_interval": 0.2,
        "worker_heartbeat_interval": 0.5,
        "worker_lease_timeout": 3.0,
        "shutdown_grace": 2.0,
    }
    defaults |= settings_for(database_url)  # a URL through PgBouncer (tests/pgbouncer/)
    settings = Settings.from_env(
        {}, database_url=database_url, grpc_port=free_port(), http_port=free_port(), **(defaults | overrides)
    )
    engine = create_engine(settings.effective_database_url, pooler=settings.database_pooler)
    await upgrade(engine)
    sessions = session_factory(engine)
    tokens = {}
    async with sessions() as session:
        for tenant in ("acme", "globex"):
            tokens[tenant] = await create_token(session, tenant)
        await session.commit()

    # One memory budget for the server and the gateway, as `catalog-ingest serve` has (service/runner.py).
    inflight = InflightBytes.of(settings)
    server = create_server(settings, sessions, host="127.0.0.1", inflight=inflight)
    await server.start()
    worker_stop = asyncio.Event()
    worker_task = asyncio.create_task(Worker(engine, settings).run(worker_stop)) if worker else None
    if worker_task is not None:
        await _registered(engine, worker_task)
    gateway_inflight = inflight if shared_budget else InflightBytes.of(settings)
    http_server, http_task = await _start_gateway(settings, gateway_inflight) if gateway else (None, None)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http_port}", timeout=30)
    try:
        yield Stack(settings, database_url, channel, http, tokens, engine)
    finally:
        await http.aclose()
        await channel.close()
        if http_server is not None and http_task is not None:
            http_server.should_exit = True
            await http_task
        await server.stop(1)
        if worker_task is not None:
            worker_stop.set()
            await worker_task
        await engine.dispose()


async def _registered(engine: Any, worker_task: asyncio.Task[None]) -> None:
    """Wait for the worker's lease, so that a test starts with a live worker (the health check says so)."""
    from sqlalchemy import text

    while True:
        async with engine.connect() as conn:
            if (await conn.execute(text("SELECT count(*) FROM workers"))).scalar_one():
                return
        if worker_task.done():
            worker_task.result()
        await asyncio.sleep(0.02)


async def _start_gateway(settings: Settings, inflight: InflightBytes) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    from gateway.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, inflight=inflight), host="127.0.0.1", port=settings.http_port, log_level="warning"
        )
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    """gRPC server and worker (no gateway)."""
    async with start_stack(database_url, gateway=False) as running:
        yield running


@pytest.fixture
async def http_stack(database_url: str) -> AsyncIterator[Stack]:
    """gRPC server, worker and the gateway over real HTTP."""
    async with start_stack(database_url) as running:
        yield running


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """The processes a test spawns; killed at the end if still running."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)
