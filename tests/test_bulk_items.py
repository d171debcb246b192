"""Bulk per-item writes: PUT .../catalogs/{catalog_id}/items and POST .../items/partial-update."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
import orjson
import pytest

from catalogingest.v1 import catalog_pb2, catalog_pb2_grpc, record_pb2, task_pb2
from service.tasks.worker import Worker
from tests.conftest import Stack, start_stack
from tests.helpers import error_details, eventually, wait_task

ITEMS = "/data/v2/projects/acme/catalogs/shop/items"
PARTIAL = ITEMS + "/partial-update"
OK = {"success": "True", "queued": "True"}
FIELDS = [
    {"name": "title", "type": "string", "searchable": True},
    {"name": "price", "type": "number"},
    {"name": "in_stock", "type": "boolean"},
    {"name": "tags", "type": "list"},
]


def failed(**errors: list[str]) -> dict:
    return {"success": "False", "queued": "False", "errors": errors}


@contextlib.asynccontextmanager
async def bulk_stack(database_url: str, **overrides) -> AsyncIterator[Stack]:
    """A stack whose rate limit does not get in the way of a test's many requests, and the shop catalog."""
    overrides.setdefault("bulk_rate_limit_requests", 1000)
    async with start_stack(database_url, **overrides) as stack:
        await define(stack, "shop", FIELDS)
        yield stack


async def define(stack: Stack, name: str, fields: list[dict]) -> None:
    response = await stack.http.post(
        "/data/v2/projects/acme/catalogs", json={"name": name, "fields": fields}, headers=stack.auth()
    )
    assert response.status_code == 200, response.text


@pytest.fixture
async def shop(database_url: str) -> AsyncIterator[Stack]:
    async with bulk_stack(database_url) as stack:
        yield stack


async def send(stack: Stack, method: str, path: str, body, **params) -> tuple[list[dict], int | None]:
    """The per-item results and the task id (None when no item was valid)."""
    response = await stack.http.request(method, path, json=body, params=params, headers=stack.auth())
    assert response.status_code == 200, response.text
    task = response.headers.get("x-task-id")
    return response.json(), int(task) if task is not None else None


async def applied(stack: Stack, task_id: int | None) -> task_pb2.Task:
    assert task_id is not None
    task = await wait_task(stack, task_id)
    assert task.status == task_pb2.TASK_STATUS_DONE, task
    return task


async def stored(stack: Stack, section: str = "shop") -> dict[str, dict]:
    """The items as GET /v2/items shows them: id -> properties."""
    response = await stack.http.get("/v2/items", params={"section": section}, headers=stack.auth())
    assert response.status_code == 200, response.text
    return {item["id"]: item["data"] for item in response.json()["items"]}


async def test_the_documents_example(shop) -> None:
    """10 items, the 5th with an undefined field: 10 results in order, the 5th failing, the other 9 stored."""
    items = [{"item_id": f"item-{n}", "properties": {"title": f"Item {n}", "price": n + 0.5}} for n in range(10)]
    items[4]["properties"]["device_id"] = "d-4"
    response = await shop.http.put(ITEMS, json=items, headers={**shop.auth(), "content-type": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert (
        response.json() == [OK] * 4 + [failed(properties=["Fields ['device_id'] are not properly defined."])] + [OK] * 5
    )
    task = await applied(shop, int(response.headers["x-task-id"]))
    assert task.type == "bulk_items_replace" and task.section == "shop"
    assert task.result.items.created == 9
    expected = {i["item_id"]: i["properties"] for n, i in enumerate(items) if n != 4}
    assert await stored(shop) == expected


async def test_replace_blanks_the_properties_left_out_and_partial_update_keeps_them(shop) -> None:
    first = [{"item_id": "a", "properties": {"title": "A", "price": 10, "tags": ["x"]}}]
    await applied(shop, (await send(shop, "PUT", ITEMS, first))[1])

    results, task_id = await send(shop, "POST", PARTIAL, [{"item_id": "a", "properties": {"price": 12}}])
    assert results == [OK]
    task = await applied(shop, task_id)
    assert task.type == "bulk_items_update" and task.result.items.updated == 1
    assert (await stored(shop))["a"] == {"title": "A", "price": 12, "tags": ["x"]}

    # null removes one property in a partial update (R8).
    await applied(shop, (await send(shop, "POST", PARTIAL, [{"item_id": "a", "properties": {"tags": None}}]))[1])
    assert (await stored(shop))["a"] == {"title": "A", "price": 12}

    await applied(shop, (await send(shop, "PUT", ITEMS, [{"item_id": "a", "properties": {"price": 1}}]))[1])
    assert (await stored(shop))["a"] == {"price": 1}


async def test_partial_update_of_a_missing_item_needs_upsert(shop) -> None:
    await applied(shop, (await send(shop, "PUT", ITEMS, [{"item_id": "a", "properties": {"title": "A"}}]))[1])
    body = [{"item_id": "a", "properties": {"price": 1}}, {"item_id": "new", "properties": {"price": 2}}]
    results, task_id = await send(shop, "POST", PARTIAL, body)
    assert results == [
        OK,
        failed(item_id=["Item 'new' does not exist in catalog 'shop'; send upsert=true to create it."]),
    ]
    await applied(shop, task_id)
    assert await stored(shop) == {"a": {"title": "A", "price": 1}}

    results, task_id = await send(shop, "POST", PARTIAL, body, upsert="true")
    assert results == [OK, OK]
    task = await applied(shop, task_id)
    assert (task.result.items.created, task.result.items.unchanged) == (1, 1)
    assert await stored(shop) == {"a": {"title": "A", "price": 1}, "new": {"price": 2}}

    # Only the missing items fail: with none valid, there is no task and no X-Task-Id.
    results, task_id = await send(shop, "POST", PARTIAL, [{"item_id": "ghost", "properties": {}}], upsert="false")
    assert results[0]["success"] == "False" and task_id is None


async def test_an_item_deleted_before_its_partial_update_runs_is_skipped(database_url) -> None:
    """The existence check is made at submission: a delete queued earlier but applied later wins, and the
    partial update's task skips the item instead of creating it, counting it as rejected and naming it."""
    async with bulk_stack(database_url, worker=False) as s:
        stop = asyncio.Event()
        worker = asyncio.create_task(Worker(s.engine, s.settings).run(stop))
        try:
            put = (await send(s, "PUT", ITEMS, [{"item_id": "a", "properties": {"title": "A"}}]))[1]
            await applied(s, put)
            stop.set()
            await worker
            delete = await s.catalog.DeleteRecords(
                catalog_pb2.DeleteRecordsRequest(
                    section="shop", collection="items", records=[record_pb2.Record(id="a")]
                ),
                metadata=s.metadata(),
            )
            results, update = await send(s, "POST", PARTIAL, [{"item_id": "a", "properties": {"price": 3}}])
            assert results == [OK]
            stop = asyncio.Event()
            worker = asyncio.create_task(Worker(s.engine, s.settings).run(stop))
            await applied(s, delete.task_id)
            task = await applied(s, update)
            assert (task.result.items.rejected, task.result.items.created) == (1, 0)
            assert list(task.result.skipped_record_ids) == ["a"]
            assert await stored(s) == {}
        finally:
            stop.set()
            await worker


NOT_A_LIST = "Payload not a list: the body must be a JSON array of items."


@pytest.mark.parametrize("method_path", [("PUT", ITEMS), ("POST", PARTIAL)])
async def test_whole_request_errors_are_400_with_a_message(database_url, method_path) -> None:
    method, path = method_path
    async with bulk_stack(database_url, bulk_max_body_bytes=2000, bulk_max_items=3) as s:
        item = {"item_id": "a", "properties": {"title": "A"}}
        cases = [
            (b'[{"item_id": "a",', "Invalid JSON: "),
            (b'{"item_id": "a", "properties": {}}', NOT_A_LIST),
            (b'"items"', NOT_A_LIST),
            (b"", NOT_A_LIST),
            (orjson.dumps([item] * 4), "Too many items: at most 3 items per request (got 4)."),
            (
                orjson.dumps([{"item_id": "a", "properties": {"title": "x" * 2100}}]),
                "Payload size exceeded: the body must not be larger than 2000 bytes.",
            ),
            (
                orjson.dumps([item, [item]]),
                "Item parsing error: item 1 is not a JSON object with item_id and properties.",
            ),
            (orjson.dumps([item, "a"]), "Item parsing error: item 1 is not a JSON object with item_id and properties."),
        ]
        for content, message in cases:
            response = await s.http.request(
                method, path, content=content, headers={**s.auth(), "content-type": "application/json"}
            )
            assert response.status_code == 400, (content[:40], response.text)
            assert response.json()["message"].startswith(message), response.json()
            assert list(response.json()) == ["message"] and "x-task-id" not in response.headers

        # Over the limit by a streamed body without a Content-Length, too.
        async def chunks():
            for _ in range(30):
                yield b" " * 100

        streamed = await s.http.request(method, path, content=chunks(), headers=s.auth())
        assert streamed.status_code == 400 and streamed.json()["message"].startswith("Payload size exceeded")
        assert await stored(s) == {}
        # Refused requests do not count against the rate limit; nothing was queued.
        tasks = await s.tasks.ListTasks(task_pb2.ListTasksRequest(), metadata=s.metadata())
        assert list(tasks.tasks) == []


async def test_an_empty_list_answers_an_empty_list(shop) -> None:
    assert await send(shop, "PUT", ITEMS, []) == ([], None)


async def test_malformed_items_fail_one_by_one(shop) -> None:
    body = [
        {"item_id": "ok", "properties": {"title": "fine"}},
        {"properties": {"title": "no id"}},
        {"item_id": "", "properties": {}},
        {"item_id": "a/b", "properties": {}},
        {"item_id": 7, "properties": {}},
        {"item_id": "no-properties"},
        {"item_id": "list-properties", "properties": ["title"]},
        {"item_id": "null-properties", "properties": None},
        {"item_id": "extra", "properties": {}, "price": 1},
        {"item_id": "undefined", "properties": {"colour": "red", "size": 1, "title": "t"}},
        {"item_id": "x" * 1025, "properties": {}},
    ]
    results, task_id = await send(shop, "PUT", ITEMS, body)
    required = "The item_id is required and must be a non-empty string."
    assert results == [
        OK,
        failed(item_id=[required]),
        failed(item_id=[required]),
        failed(item_id=["The item_id \"a/b\" must not contain '/'."]),
        failed(item_id=["The item_id must be a string, got 7."]),
        failed(properties=["The properties object is required."]),
        failed(properties=["The properties must be a JSON object, got an array."]),
        failed(properties=["The properties must be a JSON object, got null."]),
        failed(item=["Unknown keys ['price']: an item has only item_id, properties and expected_version."]),
        failed(properties=["Fields ['colour', 'size'] are not properly defined."]),
        failed(item_id=['The item_id "' + "x" * 56 + "... must be at most 256 characters (got 1025)."]),
    ]
    await applied(shop, task_id)
    assert await stored(shop) == {"ok": {"title": "fine"}}


# (type, a value that fits, a value that does not, the message for it)
TYPE_CASES = [
    ("string", "Red shoe", 5, "must be a string, got 5."),
    ("string", "x" * 1000, "x" * 1001, "must be at most 1000 characters"),
    ("long text", "x" * 5000, ["x"], 'must be a string, got ["x"].'),
    ("number", 19.99, "19.99", 'must be a number, got "19.99".'),
    ("number", -3, True, "must be a number, got true."),
    ("boolean", False, "true", 'must be true or false, got "true".'),
    ("date", 1700000000, "2024-01-01", "must be a UNIX timestamp (seconds since 1970-01-01 UTC, a number)"),
    ("datetime", 1700000000.25, 1700000000000, "must be a UNIX timestamp in seconds between 0 and 253402300799"),
    ("duration", 3600, -5, "must be a non-negative number of seconds, got -5."),
    ("list", ["a", 1, True], "a,b", 'must be a list, got "a,b".'),
    ("list", [], [{"a": 1}], "must be a list of strings, numbers or booleans"),
    ("url", "https://shop.example/p/1", "shop.example/p/1", "must be an absolute http or https URL"),
    ("url", "http://x.example", 12, "must be a URL string, got 12."),
    ("json", {"any": ["thing", 1, None]}, None, ""),
]


async def test_each_field_type_accepts_fitting_values_and_refuses_others(database_url) -> None:
    async with start_stack(database_url) as s:
        fields = [{"name": f"f{i}", "type": t} for i, (t, *_rest) in enumerate(TYPE_CASES)]
        await define(s, "typed", fields)
        path = "/data/v2/projects/acme/catalogs/typed/items"
        body, expected = [], []
        for i, (type_, good, bad, message) in enumerate(TYPE_CASES):
            body.append({"item_id": f"good-{i}", "properties": {f"f{i}": good}})
            expected.append((True, ""))
            if message:
                body.append({"item_id": f"bad-{i}", "properties": {f"f{i}": bad}})
                expected.append((False, f"Field 'f{i}' ({type_}) {message}"))
        results, task_id = await send(s, "PUT", path, body)
        assert len(results) == len(body)
        for item, result, (success, message) in zip(body, results, expected, strict=True):
            assert result["success"] == str(success), (item, result)
            if not success:
                assert list(result["errors"]) == ["properties"]
                assert result["errors"]["properties"][0].startswith(message), (item, result)
        await applied(s, task_id)
        got = await stored(s, "typed")
        assert got == {i["item_id"]: i["properties"] for i in body if i["item_id"].startswith("good")}


async def test_required_fields_on_replace_only(database_url) -> None:
    async with start_stack(database_url) as s:
        await define(s, "req", [{"name": "sku", "type": "string", "required": True}, {"name": "n", "type": "number"}])
        path = "/data/v2/projects/acme/catalogs/req/items"
        results, task_id = await send(
            s, "PUT", path, [{"item_id": "a", "properties": {"n": 1}}, {"item_id": "b", "properties": {"sku": "B"}}]
        )
        assert results == [failed(properties=["Field 'sku' is required."]), OK]
        await applied(s, task_id)
        results, task_id = await send(s, "POST", path + "/partial-update", [{"item_id": "b", "properties": {"n": 2}}])
        assert results == [OK]
        await applied(s, task_id)
        assert await stored(s, "req") == {"b": {"sku": "B", "n": 2}}


async def test_a_catalog_without_fields_accepts_any_properties(shop) -> None:
    write = await shop.http.put(
        "/v2/items", params={"section": "free"}, json={"items": [{"id": "z"}]}, headers=shop.auth()
    )
    assert write.status_code == 200
    path = "/data/v2/projects/acme/catalogs/free/items"
    results, task_id = await send(shop, "PUT", path, [{"item_id": "a", "properties": {"anything": {"goes": 1}}}])
    assert results == [OK]
    await applied(shop, task_id)
    assert (await stored(shop, "free"))["a"] == {"anything": {"goes": 1}}


async def test_an_unknown_catalog_is_404(shop) -> None:
    for method, path in (
        ("PUT", "/data/v2/projects/acme/catalogs/nope/items"),
        ("POST", "/data/v2/projects/acme/catalogs/nope/items/partial-update"),
    ):
        response = await shop.http.request(method, path, json=[], headers=shop.auth())
        assert response.status_code == 404 and response.json() == {"message": "catalog 'nope' not found"}


async def test_bulk_writes_are_fifo_with_the_catalogs_other_writes(shop) -> None:
    """An items-API write and bulk writes of one catalog apply in submission order."""
    await applied(shop, (await send(shop, "PUT", ITEMS, [{"item_id": "a", "properties": {"price": 1}}]))[1])
    tasks = []
    for n in range(2, 7):
        if n % 2:
            response = await shop.http.patch(
                "/v2/items",
                params={"section": "shop"},
                json={"items": [{"id": "a", "data": {"price": n}}]},
                headers=shop.auth(),
            )
            tasks.append(response.json()["task_id"])
        else:
            tasks.append((await send(shop, "POST", PARTIAL, [{"item_id": "a", "properties": {"price": n}}]))[1])
    for task_id in tasks:
        await applied(shop, task_id)
    assert (await stored(shop))["a"] == {"price": 6}


async def test_grpc_bulk_writes(database_url) -> None:
    async with bulk_stack(database_url, bulk_max_items=2, bulk_max_body_bytes=100) as s:
        stub: catalog_pb2_grpc.CatalogServiceStub = s.catalog
        md = s.metadata()
        response = await stub.BulkReplaceCatalogItems(
            catalog_pb2.BulkReplaceCatalogItemsRequest(
                project_id="acme",
                catalog_id="shop",
                items=[
                    catalog_pb2.CatalogItem(item_id="a", properties_json='{"price": 2}'),
                    catalog_pb2.CatalogItem(item_id="b", properties_json='{"price": "two"'),
                ],
            ),
            metadata=md,
        )
        assert [r.success for r in response.results] == [True, False]
        assert response.results[1].errors[0].field == "properties"
        assert response.results[1].errors[0].description.startswith("The properties are not valid JSON")
        assert response.task_status_path == f"/v1/task/{response.task_id}"
        await applied(s, response.task_id)

        update = await stub.BulkUpdateCatalogItems(
            catalog_pb2.BulkUpdateCatalogItemsRequest(
                project_id="acme",
                catalog_id="shop",
                items=[catalog_pb2.CatalogItem(item_id="c", properties_json='{"title": "C"}')],
                upsert=True,
            ),
            metadata=md,
        )
        assert update.results[0].success and update.results[0].queued
        await applied(s, update.task_id)
        assert await stored(s) == {"a": {"price": 2}, "c": {"title": "C"}}

        too_many = catalog_pb2.BulkReplaceCatalogItemsRequest(
            project_id="acme", catalog_id="shop", items=[catalog_pb2.CatalogItem(item_id=str(n)) for n in range(3)]
        )
        too_large = catalog_pb2.BulkReplaceCatalogItemsRequest(
            project_id="acme",
            catalog_id="shop",
            items=[catalog_pb2.CatalogItem(item_id="a", properties_json="[" * 200)],
        )
        for request, reason in ((too_many, "TOO_MANY_ITEMS"), (too_large, "PAYLOAD_TOO_LARGE")):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.BulkReplaceCatalogItems(request, metadata=md)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert error_details(refused.value) == (["items"], reason)

        with pytest.raises(grpc.aio.AioRpcError) as other:
            await stub.BulkUpdateCatalogItems(
                catalog_pb2.BulkUpdateCatalogItemsRequest(project_id="acme", catalog_id="shop"),
                metadata=s.metadata("globex"),
            )
        assert other.value.code() == grpc.StatusCode.NOT_FOUND


async def test_items_are_readable_through_batch_get(shop) -> None:
    """The catalog_id of the bulk API is the section of the items API."""
    await applied(shop, (await send(shop, "PUT", ITEMS, [{"item_id": "a", "properties": {"title": "A"}}]))[1])
    got = await shop.catalog.BatchGetRecords(
        catalog_pb2.BatchGetRecordsRequest(section="shop", collection="items", ids=["a"]), metadata=shop.metadata()
    )
    assert [(r.id, orjson.loads(r.data_json)) for r in got.records] == [("a", {"title": "A"})]
    await eventually(lambda: stored(shop), lambda items: "a" in items)
