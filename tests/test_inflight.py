"""The memory budget: reservations in arrival order, a bounded wait, then RESOURCE_EXHAUSTED with RetryInfo
over gRPC and 503 with Retry-After over HTTP; the gateway and an in-process server share one reservation."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
import httpx
import orjson
import pytest
import uvicorn
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from catalogingest.v1 import catalog_pb2, catalog_pb2_grpc, record_pb2
from service.auth import create_token
from service.db.engine import create_engine, session_factory
from service.db.migrate import upgrade
from service.inflight import GATEWAY_MULTIPLE, SERVER_MULTIPLE, InflightBytes, MemoryBusy
from service.server import create_server
from service.settings import Settings
from tests.conftest import free_port

MiB = 1024 * 1024


async def test_reservations_are_granted_in_arrival_order_and_a_long_wait_is_refused() -> None:
    budget = InflightBytes(10 * MiB, wait=5)
    first = await budget.acquire(8 * MiB)
    order: list[str] = []

    async def take(name: str, size: int) -> None:
        lease = await budget.acquire(size)
        order.append(name)
        lease.release()

    big = asyncio.create_task(take("big", 6 * MiB))
    await asyncio.sleep(0)
    small = asyncio.create_task(take("small", 1 * MiB))  # would fit now, but waits behind the big one
    await asyncio.sleep(0.05)
    assert order == []
    first.release()
    await asyncio.gather(big, small)
    assert order == ["big", "small"]
    assert budget.used == 0

    impatient = InflightBytes(10 * MiB, wait=0.05)
    held = await impatient.acquire(10 * MiB)
    with pytest.raises(MemoryBusy) as refused:
        await impatient.acquire(1 * MiB)
    assert refused.value.retry_after > 0
    held.release()
    # Larger than the whole budget: it runs alone rather than never.
    alone = await impatient.acquire(50 * MiB)
    assert alone.size == 10 * MiB
    alone.release()
    assert impatient.used == 0


async def test_a_cancelled_wait_gives_nothing_away() -> None:
    budget = InflightBytes(4 * MiB, wait=5)
    held = await budget.acquire(4 * MiB)
    waiting = asyncio.create_task(budget.acquire(2 * MiB))
    await asyncio.sleep(0.01)
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    held.release()
    assert budget.used == 0
    lease = await budget.acquire(4 * MiB)
    lease.release()


@contextlib.asynccontextmanager
async def serving(database_url: str, budget: InflightBytes, **overrides) -> AsyncIterator[tuple]:
    """A gRPC server and a gateway in this process sharing `budget` (as `serve` runs them)."""
    from gateway.app import create_app

    settings = Settings.from_env(
        {}, database_url=database_url, grpc_port=free_port(), http_port=free_port(), **overrides
    )
    engine = create_engine(settings.effective_database_url)
    await upgrade(engine)
    sessions = session_factory(engine)
    async with sessions() as session:
        token = await create_token(session, "acme")
        await session.commit()
    server = create_server(settings, sessions, host="127.0.0.1", inflight=budget)
    await server.start()
    http_server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, inflight=budget), host="127.0.0.1", port=settings.http_port, log_level="warning"
        )
    )
    http_server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    http_task = asyncio.create_task(http_server.serve())
    while not http_server.started:
        if http_task.done():
            http_task.result()
        await asyncio.sleep(0.01)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http_port}", timeout=30)
    try:
        yield channel, http, token
    finally:
        await http.aclose()
        await channel.close()
        http_server.should_exit = True
        await http_task
        await server.stop(0)
        await engine.dispose()


def records(count: int, size: int) -> list[record_pb2.Record]:
    return [record_pb2.Record(id=f"r{n}", data_json=orjson.dumps({"text": "x" * size}).decode()) for n in range(count)]


async def test_a_grpc_call_past_the_budget_is_resource_exhausted_with_retry_info(database_url) -> None:
    budget = InflightBytes(4 * MiB, wait=0.2)
    async with serving(database_url, budget) as (channel, _http, token):
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        request = catalog_pb2.ReplaceRecordsRequest(section="s", collection="items", records=records(100, 2000))
        metadata = (("authorization", f"Bearer {token}"),)
        held = await budget.acquire(4 * MiB)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ReplaceRecords(request, metadata=metadata)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        status = rpc_status.from_call(refused.value)
        assert status is not None
        retry = [d for d in status.details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR)]
        assert len(retry) == 1
        # A small call needs no reservation; once the budget is free the large one goes through.
        small = catalog_pb2.ReplaceRecordsRequest(section="s", collection="items", records=records(1, 10))
        assert (await stub.ReplaceRecords(small, metadata=metadata)).task_id
        held.release()
        assert (await stub.ReplaceRecords(request, metadata=metadata)).task_id
        assert budget.used == 0


async def test_an_http_request_past_the_budget_is_503_with_retry_after(database_url) -> None:
    budget = InflightBytes(4 * MiB, wait=0.2)
    async with serving(database_url, budget) as (_channel, http, token):
        body = orjson.dumps({"items": [{"id": f"r{n}", "data": {"text": "x" * 2000}} for n in range(100)]})
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        held = await budget.acquire(4 * MiB)
        refused = await http.put("/v2/items", params={"section": "s"}, content=body, headers=auth)
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["reason"] == "MEMORY_BUSY"
        held.release()
        accepted = await http.put("/v2/items", params={"section": "s"}, content=body, headers=auth)
        assert accepted.status_code == 200, accepted.text
        assert budget.used == 0


async def test_the_gateway_reserves_once_for_itself_and_the_server_in_its_process(database_url) -> None:
    body = orjson.dumps({"items": [{"id": f"r{n}", "data": {"text": "x" * 2000}} for n in range(100)]})
    # Room for the one reservation the gateway makes for both sides, not for a second one by the server.
    budget = InflightBytes(int(len(body) * (GATEWAY_MULTIPLE + SERVER_MULTIPLE * 1.5)), wait=0.5)
    async with serving(database_url, budget) as (_channel, http, token):
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        held = await budget.acquire(int(len(body) * SERVER_MULTIPLE * 0.5))
        response = await http.put("/v2/items", params={"section": "s"}, content=body, headers=auth)
        assert response.status_code == 200, response.text
        held.release()
        assert budget.used == 0
