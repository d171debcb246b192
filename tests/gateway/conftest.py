"""The gateway against a tiny real grpc.aio server on port 0 with hand-written servicers (no service/)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import grpc
import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from catalogingest.v1 import auth_pb2_grpc, batch_pb2_grpc, catalog_pb2_grpc, task_pb2_grpc
from gateway import create_app
from tests.gateway.fakes import FakeAuth, FakeBatches, FakeCatalog, FakeServer, FakeTasks, GatewayTestSettings, Recorder


@pytest.fixture
async def fake_server() -> AsyncIterator[FakeServer]:
    recorder = Recorder()
    server = grpc.aio.server()
    task_pb2_grpc.add_TaskServiceServicer_to_server(FakeTasks(recorder), server)
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(FakeCatalog(recorder), server)
    batch_pb2_grpc.add_BatchServiceServicer_to_server(FakeBatches(recorder), server)
    auth_pb2_grpc.add_AuthServiceServicer_to_server(FakeAuth(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield FakeServer(f"127.0.0.1:{port}", recorder)
    finally:
        await server.stop(None)


@pytest.fixture
async def running_gateway() -> AsyncIterator[Callable[..., Any]]:
    """Starts the real ASGI app (inside its lifespan) for some settings; yields an httpx client."""
    stack: list[Any] = []

    async def start(settings: Any, extra_routes: Sequence[BaseRoute] = ()) -> tuple[Starlette, httpx.AsyncClient]:
        app = create_app(settings, extra_routes=extra_routes)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        stack.append(lifespan)
        # Credentials are checked before anything else (FakeAuth takes any token but "Bearer bad").
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway", headers={"Authorization": "Bearer t"}
        )
        stack.append(client)
        return app, client

    yield start
    for item in reversed(stack):
        await item.__aexit__(None, None, None)


@pytest.fixture
async def client(fake_server: FakeServer, running_gateway: Callable[..., Any]) -> httpx.AsyncClient:
    _, http = await running_gateway(GatewayTestSettings(fake_server.target, max_body_bytes=64 * 1024))
    return http
