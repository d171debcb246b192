"""Idempotent writes: `idempotency-key` metadata on ReplaceRecords, UpdateRecords, DeleteRecords and StreamRecords."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from sqlalchemy import select

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from service.db.models import Task
from tests.conftest import start_stack
from tests.helpers import eventually, wait_task
from tests.test_stream_records import UPDATE, error_details, header, items, stream, task_count


def keyed(stack: Any, key: str, tenant: str = "acme") -> tuple[tuple[str, str], ...]:
    return (*stack.metadata(tenant), ("idempotency-key", key))


async def replace(stack: Any, key: str, *ids: str, tenant: str = "acme", section: str = "") -> int:
    response = await stack.catalog.ReplaceRecords(
        catalog_pb2.ReplaceRecordsRequest(
            section=section, collection="items", records=[record_pb2.Record(id=i, name=f"Item {i}") for i in ids]
        ),
        metadata=keyed(stack, key, tenant),
    )
    return response.task_id


WRITES = {
    "replace": lambda stub: (stub.ReplaceRecords, catalog_pb2.ReplaceRecordsRequest),
    "update": lambda stub: (stub.UpdateRecords, catalog_pb2.UpdateRecordsRequest),
    "delete": lambda stub: (stub.DeleteRecords, catalog_pb2.DeleteRecordsRequest),
}


@pytest.mark.parametrize("write", list(WRITES))
async def test_a_retry_returns_the_first_task_and_creates_nothing(stack, write) -> None:
    method, request_type = WRITES[write](stack.catalog)
    request = request_type(collection="items", records=[record_pb2.Record(id="a", name="A")])
    first = await method(request, metadata=keyed(stack, "k-1"))
    again = await method(request, metadata=keyed(stack, "k-1"))
    assert (again.task_id, again.task_status_path) == (first.task_id, f"/v1/task/{first.task_id}")
    await wait_task(stack, first.task_id)
    after_it_ran = await method(request, metadata=keyed(stack, "k-1"))
    assert after_it_ran.task_id == first.task_id
    assert await task_count(stack) == 1

    other_key = await method(request, metadata=keyed(stack, "k-2"))
    no_key = await method(request, metadata=stack.metadata())
    assert len({first.task_id, other_key.task_id, no_key.task_id}) == 3
    assert await task_count(stack) == 3


async def test_the_same_key_with_another_request_is_already_exists(stack) -> None:
    task_id = await replace(stack, "k", "a", "b")
    conflicting = [
        lambda: replace(stack, "k", "a", "c"),
        lambda: replace(stack, "k", "a", "b", section="Other"),
        lambda: stack.catalog.UpdateRecords(
            catalog_pb2.UpdateRecordsRequest(
                collection="items", records=[record_pb2.Record(id="a", name="Item a"), record_pb2.Record(id="b")]
            ),
            metadata=keyed(stack, "k"),
        ),
        lambda: stream(stack, header(), [items(0, 2)], key="k"),
    ]
    for attempt in conflicting:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await attempt()
        assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
        assert error_details(error.value) == ([], "IDEMPOTENCY_KEY_REUSED")
        assert "idempotency-key 'k'" in error.value.details() and f"task {task_id}" in error.value.details()
    assert await task_count(stack) == 1


async def test_a_stream_retry_returns_the_first_task(stack) -> None:
    first = await stream(stack, header(), (items(n, 1000) for n in range(0, 5000, 1000)), key="s")
    # The same records cut into other batches are the same request.
    again = await stream(stack, header(), (items(n, 500) for n in range(0, 5000, 500)), key="s")
    assert (again.task_id, again.records_received) == (first.task_id, 5000)
    task = await wait_task(stack, first.task_id)
    assert task.result.items.created == 5000
    assert await task_count(stack) == 1

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stream(stack, header(UPDATE), (items(n, 1000) for n in range(0, 5000, 1000)), key="s")
    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stream(stack, header(), (items(n, 1000) for n in range(0, 4000, 1000)), key="s")
    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert await task_count(stack) == 1


async def test_another_tenant_may_use_the_same_key(stack) -> None:
    mine = await replace(stack, "shared", "a")
    theirs = await replace(stack, "shared", "b", tenant="globex")
    assert mine != theirs
    assert await replace(stack, "shared", "b", tenant="globex") == theirs
    assert await task_count(stack, "acme") == 1 and await task_count(stack, "globex") == 1


async def test_concurrent_identical_requests_create_one_task(stack) -> None:
    ids = await asyncio.gather(*(replace(stack, "together", "a", "b") for _ in range(5)))
    assert len(set(ids)) == 1
    streamed = await asyncio.gather(
        *(stream(stack, header(), [items(0, 500), items(500, 500)], key="s") for _ in range(3))
    )
    assert len({r.task_id for r in streamed}) == 1 and {r.records_received for r in streamed} == {1000}
    assert await task_count(stack) == 2
    for task_id in (ids[0], streamed[0].task_id):
        assert (await wait_task(stack, task_id)).status == task_pb2.TASK_STATUS_DONE


async def test_after_the_window_the_key_names_a_new_request(database_url) -> None:
    async with start_stack(database_url, gateway=False, idempotency_window_seconds=0.5) as stack:
        first = await replace(stack, "k", "a")

        async def reuse() -> int | None:
            try:
                return await replace(stack, "k", "b")
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.ALREADY_EXISTS
                return None

        second = await eventually(reuse, lambda task_id: task_id is not None, timeout=10)
        assert second != first
        assert await task_count(stack) == 2
        async with stack.engine.connect() as conn:
            holders = (await conn.execute(select(Task.id).where(Task.idempotency_key == "k"))).scalars().all()
        assert holders == [second]


@pytest.mark.parametrize("key", ["", "   ", "x" * 256])
async def test_an_invalid_key_is_rejected(stack, key) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await replace(stack, key, "a")
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error.value) == (["idempotency-key"], "INVALID_IDEMPOTENCY_KEY")
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stream(stack, header(), [items(0, 1)], key=key)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert await task_count(stack) == 0
