"""CatalogService.StreamRecords as a client sees it: one task per stream, stored as it arrives, all or nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import grpc
import pytest

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from service.tasks.worker import Worker
from tests.conftest import start_stack
from tests.helpers import error_details, eventually, stream_is_storing, wait_task

REPLACE, UPDATE, DELETE = catalog_pb2.WRITE_MODE_REPLACE, catalog_pb2.WRITE_MODE_UPDATE, catalog_pb2.WRITE_MODE_DELETE


def items(start: int, count: int, prefix: str = "i", **fields: Any) -> list[record_pb2.Record]:
    return [
        record_pb2.Record(id=f"{prefix}{n:07d}", name=f"Item {n}", data_json=f'{{"n": {n}}}', **fields)
        for n in range(start, start + count)
    ]


def header(mode: int = REPLACE, **fields: Any) -> catalog_pb2.StreamRecordsHeader:
    return catalog_pb2.StreamRecordsHeader(**{"collection": "items", "mode": mode, **fields})


def messages(
    first: catalog_pb2.StreamRecordsHeader | None, batches: Iterable[Sequence[record_pb2.Record]]
) -> Iterable[catalog_pb2.StreamRecordsRequest]:
    if first is not None:
        yield catalog_pb2.StreamRecordsRequest(header=first)
    for batch in batches:
        yield catalog_pb2.StreamRecordsRequest(batch=record_pb2.RecordBatch(records=batch))


async def stream(
    stack: Any,
    first: catalog_pb2.StreamRecordsHeader | None,
    batches: Iterable[Sequence[record_pb2.Record]],
    *,
    tenant: str = "acme",
    key: str | None = None,
) -> catalog_pb2.StreamRecordsResponse:
    async def requests() -> AsyncIterator[catalog_pb2.StreamRecordsRequest]:
        for message in messages(first, batches):
            yield message

    metadata = stack.metadata(tenant) + ((("idempotency-key", key),) if key is not None else ())
    return await stack.catalog.StreamRecords(requests(), metadata=metadata)


async def task_count(stack: Any, tenant: str = "acme") -> int:
    listed = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(), metadata=stack.metadata(tenant))
    return listed.total_count


async def list_records(stack: Any, **fields: Any) -> catalog_pb2.ListRecordsResponse:
    return await stack.catalog.ListRecords(
        catalog_pb2.ListRecordsRequest(collection="items", **fields), metadata=stack.metadata()
    )


async def test_a_stream_of_100k_records_becomes_one_task(stack, backend, record_property) -> None:
    started = time.monotonic()
    response = await stream(stack, header(), (items(n, 1000) for n in range(0, 100_000, 1000)))
    acknowledged = time.monotonic()
    assert response.records_received == 100_000
    assert response.task_status_path == f"/v1/task/{response.task_id}"
    task = await wait_task(stack, response.task_id, timeout=120)
    done = time.monotonic()
    assert task.status == task_pb2.TASK_STATUS_DONE, task.error
    assert task.type == "records_replace"
    assert task.result.items.created == 100_000
    assert task.progress.records_applied == 100_000
    assert await task_count(stack) == 1
    listed = await list_records(stack, num_results_per_page=2)
    assert listed.total_count == 100_000
    assert [r.id for r in listed.records] == ["i0000000", "i0000001"]
    timing = f"{backend}: stream stored in {acknowledged - started:.2f}s, task DONE after {done - started:.2f}s"
    record_property("timing", timing)
    print(f"\n100k stream on {timing}")


async def test_update_and_delete_streams(stack) -> None:
    created = await stream(stack, header(), [items(0, 3), items(3, 3)])
    assert (await wait_task(stack, created.task_id)).result.items.created == 6

    renamed = [record_pb2.Record(id=f"i{n:07d}", name=f"Renamed {n}") for n in (0, 4)]
    updated = await stream(stack, header(UPDATE), [renamed[:1], renamed[1:]])
    task = await wait_task(stack, updated.task_id)
    assert (task.type, task.status, task.result.items.updated) == ("records_update", task_pb2.TASK_STATUS_DONE, 2)

    missing = await stream(stack, header(UPDATE), [[record_pb2.Record(id="nope", name="x")]])
    assert (await wait_task(stack, missing.task_id)).status == task_pb2.TASK_STATUS_FAILED
    ignored = await stream(
        stack, header(UPDATE, on_missing=catalog_pb2.ON_MISSING_IGNORE), [[record_pb2.Record(id="nope", name="x")]]
    )
    assert (await wait_task(stack, ignored.task_id)).status == task_pb2.TASK_STATUS_DONE

    deleted = await stream(
        stack, header(DELETE), [[record_pb2.Record(id="i0000001")], [record_pb2.Record(id="i0000002")]]
    )
    task = await wait_task(stack, deleted.task_id)
    assert (task.type, task.result.items.deleted) == ("records_delete", 2)

    listed = await list_records(stack)
    assert {r.id: r.name for r in listed.records} == {
        "i0000000": "Renamed 0",
        "i0000003": "Item 3",
        "i0000004": "Renamed 4",
        "i0000005": "Item 5",
    }


async def test_an_invalid_record_in_the_third_batch_creates_nothing(stack) -> None:
    before = await stream(stack, header(), [items(0, 1)])
    await wait_task(stack, before.task_id)
    third = items(2000, 1000)
    third[17].id = ""
    third[40].data_json = "[1, 2]"
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stream(stack, header(), [items(0, 1000), items(1000, 1000), third, items(3000, 1000)])
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields, reason = error_details(error.value)
    assert fields == ["records[2017].id", "records[2040].data"]
    assert reason == "INVALID_RECORD"
    assert error.value.details().startswith("records[2017].id")
    assert await task_count(stack) == 1
    assert (await list_records(stack)).total_count == 1


async def test_too_many_records_in_one_batch(stack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stream(stack, header(), [items(0, 10), items(10, 1001)])
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields, reason = error_details(error.value)
    assert (fields, reason) == (["batch.records"], "TOO_MANY_RECORDS")
    assert "1000" in error.value.details()
    assert await task_count(stack) == 0


async def test_a_stream_the_client_cancels_creates_nothing(database_url) -> None:
    # No worker: on SQLite nothing else takes the write lock the stream is observed by.
    async with start_stack(database_url, worker=False, gateway=False) as stack:
        call = stack.catalog.StreamRecords(metadata=stack.metadata())
        await call.write(catalog_pb2.StreamRecordsRequest(header=header()))
        for n in range(3):
            await call.write(
                catalog_pb2.StreamRecordsRequest(batch=record_pb2.RecordBatch(records=items(n * 1000, 1000)))
            )
        await eventually(lambda: stream_is_storing(stack), bool)
        assert call.cancel()
        assert await call.code() == grpc.StatusCode.CANCELLED
        await eventually(lambda: stream_is_storing(stack), lambda storing: not storing)
        assert await task_count(stack) == 0

        # Nothing is left behind: the next stream is stored and applied on its own.
        response = await stream(stack, header(), [items(5000, 2)])
        assert await task_count(stack) == 1
        stop = asyncio.Event()
        worker = asyncio.create_task(Worker(stack.engine, stack.settings).run(stop))
        try:
            task = await wait_task(stack, response.task_id)
        finally:
            stop.set()
            await worker
        assert (task.status, task.result.items.created) == (task_pb2.TASK_STATUS_DONE, 2)
        assert (await list_records(stack)).total_count == 2


@pytest.mark.parametrize(
    ("first", "batches", "field", "reason"),
    [
        (None, [], "header", "STREAM_HEADER_REQUIRED"),
        (None, [items(0, 1)], "header", "STREAM_HEADER_REQUIRED"),
        (header(mode=catalog_pb2.WRITE_MODE_UNSPECIFIED), [items(0, 1)], "header.mode", "INVALID_ARGUMENT"),
        (header(collection="things"), [items(0, 1)], "header.collection", "INVALID_ARGUMENT"),
        (header(), [], "batch", "NO_RECORDS"),
        (header(), [[]], "batch", "NO_RECORDS"),
    ],
    ids=["empty-stream", "batch-first", "mode-unspecified", "bad-collection", "no-batches", "empty-batch"],
)
async def test_header_errors(stack, first, batches, field, reason) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stream(stack, first, batches)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error.value) == ([field], reason)
    assert await task_count(stack) == 0


async def test_a_second_header_is_invalid(stack) -> None:
    async def requests() -> AsyncIterator[catalog_pb2.StreamRecordsRequest]:
        yield catalog_pb2.StreamRecordsRequest(header=header())
        yield catalog_pb2.StreamRecordsRequest(batch=record_pb2.RecordBatch(records=items(0, 5)))
        yield catalog_pb2.StreamRecordsRequest(header=header())

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stack.catalog.StreamRecords(requests(), metadata=stack.metadata())
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error.value) == (["header"], "STREAM_HEADER_REPEATED")
    assert await task_count(stack) == 0


async def test_the_key_must_be_the_tokens_tenant(stack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stream(stack, header(key="globex"), [items(0, 1)])
    assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "header.key" in error.value.details()
    assert await task_count(stack) == 0
