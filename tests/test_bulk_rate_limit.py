"""The bulk per-item API's rate limit: N requests per sliding window per catalog, both endpoints together,
kept in the database so that it holds across server and gateway processes."""

from __future__ import annotations

import asyncio
import time

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import select

from catalogingest.v1 import catalog_pb2
from service.db.models import BulkRateLimit
from tests.conftest import Stack, free_port, start_stack
from tests.helpers import error_details, eventually
from tests.processes import spawn

CATALOGS = "/data/v2/projects/acme/catalogs"
ITEM = [{"item_id": "a", "properties": {"title": "A"}}]


async def define(stack: Stack, name: str) -> None:
    await stack.catalog.CreateCatalogDefinition(
        catalog_pb2.CreateCatalogDefinitionRequest(
            project_id="acme",
            catalog=catalog_pb2.CatalogDefinition(
                name=name, fields=[catalog_pb2.CatalogField(name="title", type="string")]
            ),
        ),
        metadata=stack.metadata(),
    )


async def bulk(client: httpx.AsyncClient, stack: Stack, n: int, catalog: str = "shop") -> httpx.Response:
    """Request n: even ones replace, odd ones partially update (upsert), so both endpoints share the count."""
    path = f"{CATALOGS}/{catalog}/items"
    if n % 2:
        return await client.post(path + "/partial-update", params={"upsert": "true"}, json=ITEM, headers=stack.auth())
    return await client.put(path, json=ITEM, headers=stack.auth())


async def test_the_sixth_request_in_the_window_is_429_until_the_window_passes(database_url) -> None:
    window = 1.5
    async with start_stack(database_url, bulk_rate_limit_window_seconds=window) as s:
        await define(s, "shop")
        await define(s, "outlet")
        started = time.monotonic()
        for n in range(5):
            response = await bulk(s.http, s, n)
            assert response.status_code == 200, response.text
            # Requests refused as a whole do not count.
            bad = await s.http.put(f"{CATALOGS}/shop/items", content=b"{", headers=s.auth())
            assert bad.status_code == 400
        sixth = await bulk(s.http, s, 5)
        assert sixth.status_code == 429, sixth.text
        assert 1 <= int(sixth.headers["retry-after"]) <= 2
        assert list(sixth.json()) == ["message"]
        assert sixth.json()["message"].startswith(
            "Too many requests: at most 5 bulk item requests per 1.5 seconds for catalog 'shop'"
        )
        assert "x-task-id" not in sixth.headers
        # Another catalog has its own window.
        assert (await bulk(s.http, s, 0, "outlet")).status_code == 200

        accepted = await eventually(lambda: bulk(s.http, s, 0), lambda r: r.status_code == 200, timeout=10)
        assert accepted.json() == [{"success": "True", "queued": "True"}]
        assert time.monotonic() - started >= window - 0.1
        # The log keeps only the requests inside the window: it never grows past the limit.
        async with s.engine.connect() as conn:
            logs = (await conn.execute(select(BulkRateLimit.request_times))).scalars().all()
        assert len(logs) == 2 and all(1 <= len(times) <= 5 for times in logs)


async def test_grpc_callers_get_resource_exhausted_with_retry_info(database_url) -> None:
    async with start_stack(
        database_url, gateway=False, bulk_rate_limit_requests=2, bulk_rate_limit_window_seconds=30
    ) as s:
        await define(s, "shop")
        request = catalog_pb2.BulkUpdateCatalogItemsRequest(
            project_id="acme",
            catalog_id="shop",
            items=[catalog_pb2.CatalogItem(item_id="a", properties_json="{}")],
            upsert=True,
        )
        for _ in range(2):
            await s.catalog.BulkUpdateCatalogItems(request, metadata=s.metadata())
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await s.catalog.BulkUpdateCatalogItems(request, metadata=s.metadata())
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert error_details(refused.value) == ([], "RATE_LIMITED")
        status = rpc_status.from_call(refused.value)
        retry = error_details_pb2.RetryInfo()
        assert any(d.Unpack(retry) for d in status.details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR))
        assert 25 < retry.retry_delay.ToTimedelta().total_seconds() <= 30


async def answering(client: httpx.AsyncClient) -> bool:
    try:
        await client.get("/status/ingestion")
    except httpx.TransportError:
        return False
    return True


async def test_the_limit_holds_across_two_gateway_and_server_processes(pg_url, processes) -> None:
    async with start_stack(pg_url, gateway=False) as s:
        await define(s, "shop")
        ports = [free_port(), free_port()]
        for port in ports:
            settings = {"grpc_port": free_port(), "http_port": port, "bulk_rate_limit_window_seconds": 60}
            spawn(processes, pg_url, "grpc", "gateway", **settings)
        clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) for port in ports]
        try:
            for client in clients:
                await eventually(lambda c=client: answering(c), bool, timeout=30)
            # Five requests split between the two processes, then the sixth on either is refused.
            for n in range(5):
                assert (await bulk(clients[n % 2], s, n)).status_code == 200
            for client in clients:
                refused = await bulk(client, s, 5)
                assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1

            # Concurrent requests for a fresh catalog: exactly five get through, whichever process they reach.
            await define(s, "outlet")
            answers = await asyncio.gather(*(bulk(clients[n % 2], s, n, "outlet") for n in range(12)))
            assert sorted(r.status_code for r in answers) == [200] * 5 + [429] * 7
        finally:
            for client in clients:
                await client.aclose()
