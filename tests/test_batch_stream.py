"""BatchService over gRPC: the client stream of items (a header, then chunks), then an ingestion of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

import grpc
import orjson
import pytest

from catalogingest.v1 import batch_pb2, catalog_pb2
from service.store import postgres_backend
from tests.helpers import error_details, eventually

ADD, MODIFY, DELETE = batch_pb2.BATCH_OPERATION_ADD, batch_pb2.BATCH_OPERATION_MODIFY, batch_pb2.BATCH_OPERATION_DELETE
ENV = "grpc"


def items(start: int, count: int, **fields) -> list[batch_pb2.BatchItem]:
    return [
        batch_pb2.BatchItem(id=f"i{n:07d}", type="product", attributes_json=f'{{"n": {n}}}', **fields)
        for n in range(start, start + count)
    ]


async def stream(
    stack, batch_id: str, operation: int, chunks: Iterable[list[batch_pb2.BatchItem]], tenant: str = "acme"
) -> batch_pb2.StreamBatchItemsResponse:
    async def requests() -> AsyncIterator[batch_pb2.StreamBatchItemsRequest]:
        header = batch_pb2.StreamBatchItemsHeader(
            tenant=tenant, environment=ENV, batch_id=batch_id, operation=operation
        )
        yield batch_pb2.StreamBatchItemsRequest(header=header)
        for chunk in chunks:
            yield batch_pb2.StreamBatchItemsRequest(chunk=batch_pb2.BatchItemChunk(items=chunk))

    return await stack.batches.StreamBatchItems(requests(), metadata=stack.metadata(tenant))


async def new_version(stack) -> str:
    created = await stack.batches.CreateCatalogVersion(
        batch_pb2.CreateCatalogVersionRequest(tenant="acme", environment=ENV, create_batch_import=True),
        metadata=stack.metadata(),
    )
    return created.version.batch_import_id


async def wait_ingestion(stack, ingestion_id: str) -> batch_pb2.Ingestion:
    async def probe() -> batch_pb2.Ingestion:
        got = await stack.batches.GetIngestion(
            batch_pb2.GetIngestionRequest(tenant="acme", environment=ENV, id=ingestion_id), metadata=stack.metadata()
        )
        return got.ingestion

    return await eventually(probe, lambda i: i.status != batch_pb2.INGESTION_STATUS_RUNNING, timeout=120)


async def test_a_streamed_batch_of_50k_items_is_ingested_and_promoted(stack) -> None:
    batch_id = await new_version(stack)
    chunks = [items(n, 1000) for n in range(0, 50_000, 1000)]
    chunks[3][10].id = "not/valid"  # R1: "/" is no id character
    chunks[7][0].ClearField("attributes_json")
    response = await stream(stack, batch_id, ADD, chunks)
    assert (response.items_received, response.items_accepted, response.items_rejected) == (50_000, 49_998, 2)
    assert [(e.index, e.code) for e in response.errors] == [(3010, 1), (7000, 5)]
    assert response.errors[1].id.id == "i0007000" and response.errors[1].message == "attributes is required"
    # Modify and delete streams use the same header with another operation.
    modified = await stream(
        stack, batch_id, MODIFY, [[batch_pb2.BatchItem(id="i0000001", type="product", attributes_json='{"m": true}')]]
    )
    assert modified.items_accepted == 1
    deleted = await stream(stack, batch_id, DELETE, [[batch_pb2.BatchItem(id="i0000002", type="product")]])
    assert deleted.items_accepted == 1

    created = await stack.batches.CreateIngestion(
        batch_pb2.CreateIngestionRequest(
            tenant="acme", environment=ENV, catalog_version=batch_id, promote_catalog_on_completion=True
        ),
        metadata=stack.metadata(),
    )
    ingestion = await wait_ingestion(stack, created.id)
    assert ingestion.status == batch_pb2.INGESTION_STATUS_SUCCESS, ingestion.status_reason
    assert ingestion.upserted_item_count == 49_997 and ingestion.configuration.catalog_version == batch_id
    active = await stack.batches.GetActiveCatalogVersion(
        batch_pb2.GetActiveCatalogVersionRequest(tenant="acme", environment=ENV), metadata=stack.metadata()
    )
    assert active.version.version == batch_id and active.version.item_count == 49_997


async def test_stream_errors(stack) -> None:
    batch_id = await new_version(stack)

    async def no_header() -> AsyncIterator[batch_pb2.StreamBatchItemsRequest]:
        yield batch_pb2.StreamBatchItemsRequest(chunk=batch_pb2.BatchItemChunk(items=items(0, 1)))

    with pytest.raises(grpc.aio.AioRpcError) as first:
        await stack.batches.StreamBatchItems(no_header(), metadata=stack.metadata())
    assert first.value.code() == grpc.StatusCode.INVALID_ARGUMENT and error_details(first.value)[0] == ["header"]
    with pytest.raises(grpc.aio.AioRpcError) as unspecified:
        await stream(stack, batch_id, batch_pb2.BATCH_OPERATION_UNSPECIFIED, [items(0, 1)])
    assert error_details(unspecified.value)[0] == ["header.operation"]
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await stream(stack, "nope", ADD, [items(0, 1)])
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND and error_details(unknown.value)[1] == "BATCH_NOT_FOUND"
    with pytest.raises(grpc.aio.AioRpcError) as other_tenant:
        await stream(stack, batch_id, ADD, [items(0, 1)], tenant="globex")
    assert other_tenant.value.code() == grpc.StatusCode.NOT_FOUND


async def test_unary_items_calls_over_grpc(stack) -> None:
    batch_id = await new_version(stack)
    added = await stack.batches.AddBatchItems(
        batch_pb2.AddBatchItemsRequest(
            tenant="acme",
            environment=ENV,
            batch_id=batch_id,
            items=[*items(0, 2), batch_pb2.BatchItem(id="x", type="product", attributes_json="[1]")],
        ),
        metadata=stack.metadata(),
    )
    assert [r.code for r in added.results] == [0, 0, 5]
    assert not added.results[0].HasField("message") and added.results[2].message == "attributes must be a JSON object"
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await stack.batches.DeleteBatchItems(
            batch_pb2.DeleteBatchItemsRequest(tenant="acme", environment=ENV, batch_id=batch_id, items=items(0, 1)),
            metadata=stack.metadata("globex"),
        )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_stream_over_the_cap_gets_resource_exhausted_when_it_waits_for_the_ack(database_url) -> None:
    """The header-ack protocol: a client that waits for the initial metadata after its header never races
    a refusal at the header, so it sees RESOURCE_EXHAUSTED with a RetryInfo, not INTERNAL (grpc/grpc#36066)."""
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    from tests.conftest import start_stack

    async with start_stack(database_url, gateway=False, max_uploads_per_tenant=1) as stack:
        batch_id = await new_version(stack)
        header = batch_pb2.StreamBatchItemsRequest(
            header=batch_pb2.StreamBatchItemsHeader(tenant="acme", environment=ENV, batch_id=batch_id, operation=ADD)
        )
        holder = stack.batches.StreamBatchItems(metadata=stack.metadata())
        await holder.write(header)
        await asyncio.wait_for(holder.initial_metadata(), 10)  # the ack: the one slot of the tenant is taken
        big = batch_pb2.StreamBatchItemsRequest(chunk=batch_pb2.BatchItemChunk(items=items(0, 2000)))
        for _ in range(3):
            refused = stack.batches.StreamBatchItems(metadata=stack.metadata())
            await refused.write(header)
            # Returns at the ack, or empty when the call ended: the body goes only after the ack.
            if dict(await refused.initial_metadata() or ()).get("catalog-ingest-stream") == "header-accepted":
                await refused.write(big)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await refused
            assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, caught.value.details()
            status = rpc_status.from_call(caught.value)
            assert status is not None
            assert any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in status.details)
        await holder.write(big)
        await holder.done_writing()
        assert (await holder).items_accepted == 2000


async def test_chunks_re_adding_stored_items_converge_as_upserts(stack, monkeypatch) -> None:
    """A chunk of new items is copied straight into the batch (PostgreSQL); one that re-adds a stored item falls
    back to the upsert as a whole: a newer add replaces the item, an older one is ignored, its new items stored."""
    monkeypatch.setattr(postgres_backend, "COPY_FROM_ROWS", 1)  # every chunk takes the COPY path
    batch_id = await new_version(stack)

    def item(item_id: str, n: int, timestamp: str) -> batch_pb2.BatchItem:
        return batch_pb2.BatchItem(id=item_id, type="product", attributes_json=f'{{"n": {n}}}', timestamp=timestamp)

    t0, t1, t2 = "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"
    chunks = [
        [item("a", 1, t1), item("b", 1, t1)],  # new: appended
        [item("a", 2, t2), item("c", 2, t2)],  # a is stored and older: replaced
        [item("b", 0, t0), item("d", 0, t1)],  # b is stored and newer: this add is ignored
    ]
    response = await stream(stack, batch_id, ADD, chunks)
    assert (response.items_received, response.items_accepted) == (6, 6)
    created = await stack.batches.CreateIngestion(
        batch_pb2.CreateIngestionRequest(
            tenant="acme", environment=ENV, catalog_version=batch_id, promote_catalog_on_completion=True
        ),
        metadata=stack.metadata(),
    )
    ingestion = await wait_ingestion(stack, created.id)
    assert ingestion.status == batch_pb2.INGESTION_STATUS_SUCCESS, ingestion.status_reason
    assert ingestion.upserted_item_count == 4
    found = await stack.catalog.BatchGetRecords(
        catalog_pb2.BatchGetRecordsRequest(section=ENV, collection="items", ids=["a", "b", "c", "d"]),
        metadata=stack.metadata(),
    )
    assert {record.id: orjson.loads(record.data_json) for record in found.records} == {
        "a": {"n": 2},
        "b": {"n": 1},
        "c": {"n": 2},
        "d": {"n": 0},
    }
