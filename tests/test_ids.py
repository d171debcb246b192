"""R1: one id rule for every API of a catalog. Ids with inner spaces, any Unicode, `?` and `#` round-trip through
CSV, /v2 JSON, gRPC record writes, the bulk API and batch imports, and a record written through one API is
modified and deleted through the others; each violation is refused in the shape of the API it came through."""

from __future__ import annotations

import grpc
import pytest

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from tests.batch_helpers import active_version, ingest, items_of, wait_ingestion
from tests.helpers import error_details, wait_task
from tests.test_bulk_items import define
from tests.test_catalog_upload import DELTA, ITEMS, SYNC, upload
from tests.test_http_records import done

CATALOG = "prod"
IDS = ["my item", "café-☕", "a?b#c"]
BULK = f"/data/v2/projects/acme/catalogs/{CATALOG}/items"
# (id, what the API's error must say about it)
BAD_IDS = [
    ("", "empty"),
    ("x" * 257, "256"),
    ("a/b", "'/'"),
    ("a\x00b", "NUL"),
    ("a\tb", "control"),
    (" a", "whitespace"),
]


async def stored(stack) -> dict[str, dict]:
    return await items_of(stack, CATALOG)


async def batch_ingest(stack, operations: dict[str, list[dict]]) -> None:
    """Apply batch operations ("add", "modify", "delete") to the active version through a new batch."""
    scope = {"tenant": "acme", "environment": CATALOG}
    created = await stack.http.post("/batch-imports", params=scope, headers=stack.auth())
    assert created.status_code == 200, created.text
    batch_id = created.json()["id"]
    paths = {"add": ("POST", "/batch-imports/items"), "modify": ("PATCH", "/batch-imports/items"),
             "delete": ("POST", "/batch-imports/items/delete")}  # fmt: skip
    for op, items in operations.items():
        method, path = paths[op]
        response = await stack.http.request(
            method, path, params={**scope, "batch_id": batch_id}, json=items, headers=stack.auth()
        )
        assert response.status_code == 200, response.text
        assert [r["code"] for r in response.json()] == [0] * len(items), response.json()
    version = (await active_version(stack, CATALOG))["version"]
    status = await wait_ingestion(
        stack, await ingest(stack, {"catalogVersion": version, "batchImportId": batch_id}, CATALOG), CATALOG
    )
    assert status["status"] == "SUCCESS", status


async def bulk(stack, method: str, items: list[dict], **params: str) -> None:
    path = BULK if method == "PUT" else BULK + "/partial-update"
    response = await stack.http.request(method, path, json=items, params=params, headers=stack.auth())
    assert response.status_code == 200, response.text
    assert all(r["success"] == "True" for r in response.json()), response.json()
    assert (await wait_task(stack, int(response.headers["x-task-id"]))).status == task_pb2.TASK_STATUS_DONE


async def v2(stack, method: str, records: list[dict]) -> None:
    response = await stack.http.request(
        method, "/v2/items", params={"section": CATALOG}, json={"items": records}, headers=stack.auth()
    )
    assert (await done(stack, response))["status"] == "DONE"


async def test_wide_ids_round_trip_and_cross_apis(http_stack) -> None:
    s = http_stack
    await define(s, CATALOG, [{"name": "title", "type": "string"}])

    # Created through bulk, modified through /v2 and gRPC, deleted through a batch ingestion.
    await bulk(s, "PUT", [{"item_id": i, "properties": {"title": "bulk"}} for i in IDS])
    assert {i: d["data"] for i, d in (await stored(s)).items()} == {i: {"title": "bulk"} for i in IDS}
    await v2(s, "PATCH", [{"id": i, "data": {"title": "v2"}} for i in IDS])
    response = await s.catalog.UpdateRecords(
        catalog_pb2.UpdateRecordsRequest(
            section=CATALOG, collection="items", records=[record_pb2.Record(id=i, name="grpc") for i in IDS]
        ),
        metadata=s.metadata(),
    )
    assert (await wait_task(s, response.task_id)).status == task_pb2.TASK_STATUS_DONE
    assert {i: (r["name"], r["data"]) for i, r in (await stored(s)).items()} == {
        i: ("grpc", {"title": "v2"}) for i in IDS
    }
    await batch_ingest(s, {"delete": [{"id": i, "type": "product"} for i in IDS]})
    assert await stored(s) == {}

    # Created through a batch ingestion (one in a context), updated through bulk, deleted through /v2.
    await batch_ingest(s, {"add": [{"id": i, "type": "product", "attributes": {"title": "batch"}} for i in IDS]})
    assert {i: d["data"]["title"] for i, d in (await stored(s)).items()} == dict.fromkeys(IDS, "batch")
    await bulk(s, "POST", [{"item_id": i, "properties": {"title": "bulk2"}} for i in IDS])
    assert {i: d["data"]["title"] for i, d in (await stored(s)).items()} == dict.fromkeys(IDS, "bulk2")
    await v2(s, "DELETE", [{"id": i} for i in IDS])
    assert await stored(s) == {}

    # Created through CSV, modified through a batch, deleted through gRPC.
    rows = "".join(f'"{i}",CSV\n' for i in IDS)
    task = await wait_task(s, await upload(s, DELTA, {ITEMS: "id,item_name\n" + rows}, section=CATALOG))
    assert task.status == task_pb2.TASK_STATUS_DONE, task.error
    assert {i: r["name"] for i, r in (await stored(s)).items()} == dict.fromkeys(IDS, "CSV")
    await batch_ingest(s, {"modify": [{"id": i, "type": "product", "attributes": {"title": "m"}} for i in IDS]})
    assert {i: r["data"]["title"] for i, r in (await stored(s)).items()} == dict.fromkeys(IDS, "m")
    response = await s.catalog.DeleteRecords(
        catalog_pb2.DeleteRecordsRequest(
            section=CATALOG, collection="items", records=[record_pb2.Record(id=i) for i in IDS]
        ),
        metadata=s.metadata(),
    )
    assert (await wait_task(s, response.task_id)).status == task_pb2.TASK_STATUS_DONE
    assert await stored(s) == {}

    # A batch context follows the same rule.
    await batch_ingest(
        s, {"add": [{"id": "ctx", "type": "product", "context": "store 1 ☕", "attributes": {"title": "c"}}]}
    )


@pytest.mark.parametrize(("bad", "said"), BAD_IDS)
async def test_each_violation_is_refused_in_each_apis_shape(http_stack, bad, said) -> None:
    s = http_stack
    await define(s, CATALOG, [{"name": "title", "type": "string"}])

    # CSV: the task fails naming file, row and column.
    csv = "id,item_name\nok,OK\n" + ('"' + bad.replace('"', '""') + '",Bad\n' if bad else ",Bad\n")
    task = await wait_task(s, await upload(s, SYNC, {ITEMS: csv}, section=CATALOG))
    assert task.status == task_pb2.TASK_STATUS_FAILED
    assert (task.error.file, task.error.row, task.error.column) == ("items.csv", 3, "id"), task.error
    assert said in task.error.message or "required" in task.error.message, task.error

    # /v2 JSON: 400 naming items[1].id.
    body = {"items": [{"id": "ok"}, {"id": bad}]}
    response = await s.http.put("/v2/items", params={"section": CATALOG}, json=body, headers=s.auth())
    assert response.status_code == 400 and "items[1].id" in response.text, response.text

    # gRPC record writes: INVALID_ARGUMENT naming records[1].id (and records[0].context).
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await s.catalog.ReplaceRecords(
            catalog_pb2.ReplaceRecordsRequest(
                section=CATALOG,
                collection="items",
                records=[record_pb2.Record(id="ok", context=bad or "ok"), record_pb2.Record(id=bad)],
            ),
            metadata=s.metadata(),
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    expected = ["records[1].id"] if not bad else ["records[0].context", "records[1].id"]
    assert error_details(error.value)[0] == expected, error.value.details()

    # Bulk: that item fails, naming item_id; the other is stored.
    response = await s.http.put(
        BULK, json=[{"item_id": "ok", "properties": {}}, {"item_id": bad, "properties": {}}], headers=s.auth()
    )
    assert response.status_code == 200, response.text
    first, second = response.json()
    assert first["success"] == "True" and second["success"] == "False" and list(second["errors"]) == ["item_id"]

    # Batch: code 1 for the id, 2 for the context, 6 for a parentId.
    scope = {"tenant": "acme", "environment": CATALOG}
    batch_id = (await s.http.post("/batch-imports", params=scope, headers=s.auth())).json()["id"]
    items = [
        {"id": bad, "type": "product", "attributes": {}},
        {"id": "ok", "type": "product", "context": bad, "attributes": {}},
        {"id": "v", "type": "variant", "parentId": bad, "attributes": {}},
    ]
    response = await s.http.post("/batch-imports/items", params={**scope, "batch_id": batch_id}, json=items,
                                 headers=s.auth())  # fmt: skip
    assert response.status_code == 200, response.text
    results = response.json()
    assert [r["code"] for r in results] == ([1, 0, 6] if not bad else [1, 2, 6]), results
    assert said in results[0]["message"] and (not bad or said in results[1]["message"]), results
    assert "id" in results[0]["message"] and (not bad or "context" in results[1]["message"]), results


async def test_a_lookup_by_an_id_that_breaks_the_rule_is_a_400_not_a_500(http_stack) -> None:
    s = http_stack
    await v2(s, "PUT", [{"id": "a"}])
    response = await s.http.get("/v2/items", params={"section": CATALOG, "id": ["a", "b\x00"]}, headers=s.auth())
    # The gateway refuses NUL in any query parameter first; the servicer names id[1] for other violations.
    assert response.status_code == 400, response.text
    assert response.json()["field_violations"][0]["field"] in ("id", "id[1]"), response.text
    response = await s.http.get("/v2/items", params={"section": CATALOG, "id": ["a", "b/c"]}, headers=s.auth())
    assert response.status_code == 400 and response.json()["field_violations"][0]["field"] == "id[1]", response.text
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await s.catalog.BatchGetRecords(
            catalog_pb2.BatchGetRecordsRequest(section=CATALOG, collection="items", ids=["a"], context="c\x00"),
            metadata=s.metadata(),
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error.value)[0] == ["context"]
    listed = await s.http.get("/v2/items", params={"section": CATALOG, "id": "a"}, headers=s.auth())
    assert [r["id"] for r in listed.json()["items"]] == ["a"]
