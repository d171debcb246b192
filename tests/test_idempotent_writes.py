"""`Idempotency-Key` on every write (issue 14): CSV uploads, bulk per-item writes, batch item calls, ingestions,
version activation and retries. The same key and request get the same answer (the same task); the same key with
another request is 409 / ALREADY_EXISTS. (/v2 writes and StreamRecords: tests/test_idempotency.py.)"""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from sqlalchemy import func, select

from catalogingest.v1 import batch_pb2, task_pb2
from service.db.models import Task
from tests import batch_helpers as batch
from tests.helpers import eventually


async def tasks(stack: Any) -> int:
    async with stack.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(Task))).scalar_one()


def keyed(stack: Any, key: str) -> dict[str, str]:
    return {**stack.auth(), "Idempotency-Key": key}


def assert_reused(response: Any) -> None:
    assert response.status_code == 409, response.text
    # The bulk items API answers errors in its document's shape, which has no reason.
    assert "already used" in response.text, response.text


async def test_csv_uploads(http_stack) -> None:
    s = http_stack

    async def put(key: str, text: str) -> Any:
        return await s.http.put(
            "/v1/catalog",
            params={"section": "Shop"},
            files={"items": ("items.csv", text)},
            headers=keyed(s, key),
        )

    csv = "id,item_name,url\na,A,https://x/a\n"
    first = await put("u-1", csv)
    assert first.status_code == 200, first.text
    again = await put("u-1", csv)
    assert again.json() == first.json()
    assert await tasks(s) == 1
    assert_reused(await put("u-1", csv + "b,B,https://x/b\n"))
    other = await put("u-2", csv)
    assert other.json()["task_id"] != first.json()["task_id"] and await tasks(s) == 2


async def test_bulk_item_writes(database_url) -> None:
    from tests.test_bulk_items import bulk_stack

    async with bulk_stack(database_url) as s:
        path = "/data/v2/projects/acme/catalogs/shop/items"
        items = [{"item_id": "a", "properties": {"title": "A"}}]
        first = await s.http.put(path, json=items, headers=keyed(s, "b-1"))
        assert first.status_code == 200, first.text
        again = await s.http.put(path, json=items, headers=keyed(s, "b-1"))
        assert again.headers["x-task-id"] == first.headers["x-task-id"] and again.json() == first.json()
        assert await tasks(s) == 1
        assert_reused(await s.http.put(path, json=[{"item_id": "b", "properties": {}}], headers=keyed(s, "b-1")))
        assert_reused(await s.http.post(path + "/partial-update", json=items, headers=keyed(s, "b-1")))


async def test_batch_item_calls_and_activation(http_stack) -> None:
    s = http_stack
    version = await batch.new_version(s)
    items = [{"id": "a", "type": "item", "attributes": {"n": 1}}]

    async def add(key: str, body: Any) -> Any:
        return await s.http.post(
            "/batch-imports/items", params=batch.scope(batch_id=version), json=body, headers=keyed(s, key)
        )

    first = await add("i-1", items)
    assert first.status_code == 200, first.text
    again = await add("i-1", items)
    assert again.status_code == 200 and again.json() == first.json()
    assert_reused(await add("i-1", [{"id": "b", "type": "item"}]))

    ingestion = {"catalogVersion": version, "minItemCount": 0, "minSuccessRatePercent": 0}

    async def ingest(key: str, body: Any) -> Any:
        return await s.http.post("/batch-imports/ingestions", params=batch.scope(), json=body, headers=keyed(s, key))

    created = await ingest("n-1", ingestion)
    assert created.status_code == 200, created.text
    assert (await ingest("n-1", ingestion)).json() == created.json()
    assert await tasks(s) == 1
    assert_reused(await ingest("n-1", {**ingestion, "source": "other"}))
    assert_reused(await add("n-1", items))  # a key a task holds is taken for any other write
    await batch.wait_ingestion(s, created.json()["id"])

    async def activate(key: str, number: str) -> Any:
        return await s.http.post(f"/catalogs/activate/{number}", params=batch.scope(), headers=keyed(s, key))

    second = await batch.new_version(s)
    activated = await activate("a-1", version)
    assert activated.status_code == 200, activated.text
    assert (await activate("a-2", second)).status_code == 200
    # The retry answers as the first time and changes nothing: the second version stays active.
    assert (await activate("a-1", version)).json() == activated.json()
    assert (await batch.active_version(s))["version"] == second
    assert_reused(await activate("a-1", second))


async def test_retries(http_stack) -> None:
    s = http_stack
    response = await s.http.patch(
        "/v2/items", params={"section": "Shop"}, json={"items": [{"id": "x"}]}, headers=s.auth()
    )
    failed_id = response.json()["task_id"]

    async def probe() -> dict[str, Any]:
        return (await s.http.get(f"/v1/tasks/{failed_id}", headers=s.auth())).json()

    assert (await eventually(probe, lambda t: t["status"] in ("DONE", "FAILED")))["status"] == "FAILED"
    first = await s.http.post(f"/v1/tasks/{failed_id}:retry", json={}, headers=keyed(s, "r-1"))
    assert first.status_code == 200, first.text
    again = await s.http.post(f"/v1/tasks/{failed_id}:retry", json={}, headers=keyed(s, "r-1"))
    assert again.json()["id"] == first.json()["id"]
    assert await tasks(s) == 2
    assert_reused(await s.http.post(f"/v1/tasks/{failed_id}:retry", json={"force": True}, headers=keyed(s, "r-1")))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await s.tasks.RetryTask(
            task_pb2.RetryTaskRequest(id=failed_id, force=True), metadata=(*s.metadata(), ("idempotency-key", "r-1"))
        )
    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_batch_item_streams(stack) -> None:
    from tests.test_batch_stream import ADD, ENV, items, new_version

    batch_id = await new_version(stack)

    async def stream(key: str, chunks: list[list[Any]]) -> Any:
        async def requests() -> Any:
            header = batch_pb2.StreamBatchItemsHeader(tenant="acme", environment=ENV, batch_id=batch_id, operation=ADD)
            yield batch_pb2.StreamBatchItemsRequest(header=header)
            for chunk in chunks:
                yield batch_pb2.StreamBatchItemsRequest(chunk=batch_pb2.BatchItemChunk(items=chunk))

        return await stack.batches.StreamBatchItems(requests(), metadata=(*stack.metadata(), ("idempotency-key", key)))

    sent = items(0, 10)
    first = await stream("s-1", [sent[:4], sent[4:]])
    assert first.items_accepted == 10
    # The same items cut into other chunks are the same request.
    assert await stream("s-1", [sent[:7], sent[7:]]) == first
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stream("s-1", [items(0, 11)])
    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
