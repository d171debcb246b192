"""Client streams the server refuses while the client is still sending: every client sees the status the server
sent (RESOURCE_EXHAUSTED, INVALID_ARGUMENT, UNAUTHENTICATED), never INTERNAL "Internal error from Core", the
status grpc.aio puts in place of the server's when a write fails because the call ended (grpc/grpc#36066).

The server reads and discards the rest of a refused stream (service/refused_streams.py) before it answers, so
the client's writes never meet an ended call; the catalog_ingest_client turns what is left of the race (a body
past the drain's cap) into UNAVAILABLE, which it may retry."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc

from catalog_ingest_client import AsyncClient
from catalogingest.v1 import catalog_pb2, catalog_pb2_grpc, record_pb2
from tests.conftest import start_stack
from tests.figures import record
from tests.helpers import eventually, stream_is_storing

MiB = 1024 * 1024
CHUNK = b"id,item_name\n" + b"x" * (MiB - 13)
# What each kind of refusal must be answered with (a bad header also meets the tenant's cap when it races).
EXPECTED = {
    "past the cap": {"RESOURCE_EXHAUSTED"},
    "bad header": {"INVALID_ARGUMENT"},
    "bad token": {"UNAUTHENTICATED"},
    "client library": {"RESOURCE_EXHAUSTED"},
    "client library, StreamRecords": {"RESOURCE_EXHAUSTED"},
}


async def hold_the_slot(stack: Any, stub: catalog_pb2_grpc.CatalogServiceStub) -> Any:
    """An upload that sent its header and waits, holding acme's one slot: every other acme upload is past the cap."""
    holder = stub.UploadCatalog(metadata=(("authorization", f"Bearer {stack.tokens['acme']}"),))
    await holder.write(catalog_pb2.UploadCatalogRequest(header=catalog_pb2.UploadCatalogHeader(mode=1)))
    await eventually(lambda: stream_is_storing(stack), bool)
    return holder


async def body(header: catalog_pb2.UploadCatalogHeader, size: int) -> AsyncIterator[catalog_pb2.UploadCatalogRequest]:
    yield catalog_pb2.UploadCatalogRequest(header=header)
    for _ in range(size // MiB):
        yield catalog_pb2.UploadCatalogRequest(
            chunk=catalog_pb2.FileChunk(file=record_pb2.RECORD_KIND_ITEM, data=CHUNK)
        )


async def refused_upload(
    stub: catalog_pb2_grpc.CatalogServiceStub, token: str, header: catalog_pb2.UploadCatalogHeader, size: int
) -> str:
    try:
        await stub.UploadCatalog(body(header, size), metadata=(("authorization", f"Bearer {token}"),))
    except grpc.aio.AioRpcError as error:
        return error.code().name
    return "OK"


async def library_upload(client: AsyncClient, size: int) -> str:
    try:
        await client.upload_catalog("Products", items=CHUNK * (size // MiB))
    except grpc.aio.AioRpcError as error:
        return error.code().name
    return "OK"


async def library_stream_records(client: AsyncClient, size: int) -> str:
    records = ({"id": f"r{n}", "name": "x" * 1000} for n in range(size // 1024))  # a generator: not retried
    try:
        await client.stream_records("items", records)
    except grpc.aio.AioRpcError as error:
        return error.code().name
    return "OK"


async def test_refused_uploads_see_the_servers_status_never_internal(database_url: str, budget: int) -> None:
    tries = 200 * budget  # 40 of each kind; --long 400
    size = 5 * MiB
    async with start_stack(database_url, max_uploads_per_tenant=1, worker=False, gateway=False) as stack:
        stub = catalog_pb2_grpc.CatalogServiceStub(stack.channel)
        holder = await hold_the_slot(stack, stub)
        client = AsyncClient(channel=stack.channel, token=stack.tokens["acme"])
        good = catalog_pb2.UploadCatalogHeader(mode=catalog_pb2.UPLOAD_MODE_SYNC)
        bad = catalog_pb2.UploadCatalogHeader(mode=catalog_pb2.UPLOAD_MODE_SYNC, patch_delta=True)
        kinds = {
            "past the cap": lambda: refused_upload(stub, stack.tokens["acme"], good, size),
            "bad header": lambda: refused_upload(stub, stack.tokens["globex"], bad, size),
            "bad token": lambda: refused_upload(stub, "not-a-token", good, size),
            "client library": lambda: library_upload(client, size),
            "client library, StreamRecords": lambda: library_stream_records(client, size),
        }
        statuses: dict[str, collections.Counter[str]] = {kind: collections.Counter() for kind in kinds}
        started = time.monotonic()
        for _ in range(tries // len(kinds)):
            # One of each kind at a time; a bad header then never meets globex's cap.
            names = list(kinds)
            got = await asyncio.gather(*(kinds[name]() for name in names))
            for name, status in zip(names, got, strict=True):
                statuses[name][status] += 1
        seconds = time.monotonic() - started
        holder.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await holder
    internal = sum(counter["INTERNAL"] for counter in statuses.values())
    record(
        f"refused uploads ({database_url.split(':')[0]})",
        tried=sum(sum(c.values()) for c in statuses.values()),
        mib_each=size // MiB,
        internal=internal,
        statuses={kind: dict(counter) for kind, counter in statuses.items()},
        seconds=round(seconds, 1),
    )
    for kind, counter in statuses.items():
        assert set(counter) <= EXPECTED[kind], (kind, counter)


async def test_without_the_drain_the_client_library_reports_a_lost_refusal_as_unavailable(database_url: str) -> None:
    """The part of the race the drain does not cover (a body past its cap; here the drain is off): grpc.aio
    reports INTERNAL, catalog_ingest_client UNAVAILABLE with what happened, and nothing was stored."""
    async with start_stack(
        database_url, max_uploads_per_tenant=1, refused_stream_drain_bytes=0, worker=False, gateway=False
    ) as stack:
        stub = catalog_pb2_grpc.CatalogServiceStub(stack.channel)
        holder = await hold_the_slot(stack, stub)
        client = AsyncClient(channel=stack.channel, token=stack.tokens["acme"])
        statuses = collections.Counter(await asyncio.gather(*(library_upload(client, 5 * MiB) for _ in range(10))))
        holder.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await holder
        listed = await client.list_tasks()
    assert set(statuses) <= {"RESOURCE_EXHAUSTED", "UNAVAILABLE"}, statuses
    assert listed.total_count == 0
