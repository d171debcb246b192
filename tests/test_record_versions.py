"""Record versions and preconditions (issue 15) as a user sees them, over real gRPC and HTTP, both backends:
versions grow by one per change (not on a no-op write) on every write path, `expected_version` fails a task
naming every record whose precondition failed, the bulk per-item API skips such items, and the single-record
paths answer ETag, take If-Match and answer 412 with the current version."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import orjson

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from tests.batch_helpers import add, ingest, items_of, new_version, scope, wait_ingestion
from tests.batch_helpers import modify as batch_modify
from tests.helpers import error_details, wait_task

DONE, FAILED = task_pb2.TASK_STATUS_DONE, task_pb2.TASK_STATUS_FAILED


def rec(record_id: str, data: dict[str, Any] | None = None, **fields: Any) -> record_pb2.Record:
    return record_pb2.Record(id=record_id, data_json=orjson.dumps(data or {}).decode(), **fields)


async def replace(stack, records: list[record_pb2.Record], collection: str = "items") -> task_pb2.Task:
    response = await stack.catalog.ReplaceRecords(
        catalog_pb2.ReplaceRecordsRequest(collection=collection, records=records), metadata=stack.metadata()
    )
    return await wait_task(stack, response.task_id)


async def update(stack, records: list[record_pb2.Record], **fields: Any) -> task_pb2.Task:
    response = await stack.catalog.UpdateRecords(
        catalog_pb2.UpdateRecordsRequest(collection="items", records=records, **fields), metadata=stack.metadata()
    )
    return await wait_task(stack, response.task_id)


async def delete(stack, records: list[record_pb2.Record]) -> task_pb2.Task:
    response = await stack.catalog.DeleteRecords(
        catalog_pb2.DeleteRecordsRequest(collection="items", records=records), metadata=stack.metadata()
    )
    return await wait_task(stack, response.task_id)


async def versions(stack, *ids: str, collection: str = "items", section: str = "") -> dict[str, int]:
    reply = await stack.catalog.BatchGetRecords(
        catalog_pb2.BatchGetRecordsRequest(collection=collection, ids=list(ids), section=section),
        metadata=stack.metadata(),
    )
    return {r.id: r.version for r in reply.records}


async def test_versions_grow_by_one_per_change_and_not_on_a_no_op(stack) -> None:
    assert (await replace(stack, [rec("a", {"p": 1}), rec("b", {"p": 1})])).status == DONE
    assert await versions(stack, "a", "b") == {"a": 1, "b": 1}
    first = (
        await stack.catalog.GetRecord(
            catalog_pb2.GetRecordRequest(collection="items", id="a"), metadata=stack.metadata()
        )
    ).record
    assert first.version == 1 and first.update_time.seconds > 0

    # The same content again: nothing changed, no new version (and update_time stays).
    assert (await replace(stack, [rec("a", {"p": 1}), rec("b", {"p": 1})])).status == DONE
    assert await versions(stack, "a", "b") == {"a": 1, "b": 1}
    again = (
        await stack.catalog.GetRecord(
            catalog_pb2.GetRecordRequest(collection="items", id="a"), metadata=stack.metadata()
        )
    ).record
    assert again.update_time == first.update_time

    assert (await replace(stack, [rec("a", {"p": 2})])).status == DONE
    assert (await update(stack, [rec("a", {"q": 1})])).status == DONE
    assert (await update(stack, [rec("a", {"q": 1})])).status == DONE  # a no-op merge
    assert (await update(stack, [rec("b", name="B")])).status == DONE
    assert await versions(stack, "a", "b") == {"a": 3, "b": 2}

    # Two changes of one record in one task: two versions.
    assert (await replace(stack, [rec("b", {"p": 5}), rec("b", {"p": 6})])).status == DONE
    assert (await versions(stack, "b"))["b"] == 3

    # A deleted and re-created record starts again at 1.
    assert (await delete(stack, [rec("a")])).status == DONE
    assert (await replace(stack, [rec("a", {"p": 9})])).status == DONE
    assert (await versions(stack, "a"))["a"] == 1


async def test_a_task_fails_naming_every_record_whose_precondition_failed(stack) -> None:
    assert (await replace(stack, [rec("a", {"p": 1}), rec("b", {"p": 1}), rec("c", {"p": 1})])).status == DONE
    assert (await replace(stack, [rec("b", {"p": 2})])).status == DONE  # b is at 2

    task = await replace(
        stack,
        [
            rec("a", {"p": 3}, expected_version=1),  # holds
            rec("b", {"p": 3}, expected_version=1),  # b is at 2
            rec("c", {"p": 3}, expected_version=0),  # c exists
            rec("d", {"p": 3}, expected_version=-1),  # d does not exist
            rec("e", {"p": 3}, expected_version=0),  # holds
        ],
    )
    assert task.status == FAILED
    assert task.error.reason == "VERSION_MISMATCH" and task.error.record_id == "b"
    conflicts = [(c.record_id, c.expected_version, c.current_version) for c in task.error.version_conflicts]
    assert conflicts == [("b", 1, 2), ("c", 0, 1), ("d", -1, 0)]
    assert "3 records are not at the expected version" in task.error.message
    assert "'b' is at version 2 (expected version 1)" in task.error.message
    # All or nothing: nothing changed.
    assert await versions(stack, "a", "b", "c", "d", "e") == {"a": 1, "b": 2, "c": 1}

    # Delete and merge take preconditions too.
    assert (await delete(stack, [rec("a", expected_version=2)])).error.reason == "VERSION_MISMATCH"
    assert (await update(stack, [rec("a", {"x": 1}, expected_version=1)])).status == DONE
    assert (await delete(stack, [rec("a", expected_version=2)])).status == DONE
    assert await versions(stack, "a") == {}


async def test_a_precondition_out_of_range_is_invalid(stack) -> None:
    try:
        await stack.catalog.ReplaceRecords(
            catalog_pb2.ReplaceRecordsRequest(collection="items", records=[rec("a", expected_version=-2)]),
            metadata=stack.metadata(),
        )
    except grpc.aio.AioRpcError as error:
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "records[0].expected_version" in error_details(error)[0]
    else:
        raise AssertionError("accepted")


async def test_a_conditional_race_between_two_grpc_clients_has_one_winner(stack) -> None:
    assert (await replace(stack, [rec("x", {"v": 0})])).status == DONE

    async def client(value: int) -> int:
        response = await stack.catalog.ReplaceRecords(
            catalog_pb2.ReplaceRecordsRequest(collection="items", records=[rec("x", {"v": value}, expected_version=1)]),
            metadata=stack.metadata(),
        )
        return response.task_id

    ids = await asyncio.gather(client(1), client(2))
    tasks = [await wait_task(stack, task_id) for task_id in ids]
    assert sorted(t.status for t in tasks) == sorted([DONE, FAILED])
    loser = next(t for t in tasks if t.status == FAILED)
    assert [(c.record_id, c.expected_version, c.current_version) for c in loser.error.version_conflicts] == [
        ("x", 1, 2)
    ]
    assert (await versions(stack, "x"))["x"] == 2


async def test_versions_on_csv_sync_and_delta(http_stack) -> None:
    s = http_stack
    csv = "id,item_name,url\nk1,One,/1\nk2,Two,/2\n"
    files = {"items": ("items.csv", csv, "text/csv")}
    for _ in range(2):  # the second sync changes nothing
        response = await s.http.put("/v1/catalog", params={"key": "acme"}, files=files, headers=s.auth())
        assert (await wait_task(s, response.json()["task_id"])).status == DONE
    assert await versions(s, "k1", "k2") == {"k1": 1, "k2": 1}
    delta = {"items": ("items.csv", "id,item_name,url\nk1,Uno,/1\n", "text/csv")}
    response = await s.http.patch("/v1/catalog", params={"key": "acme"}, files=delta, headers=s.auth())
    assert (await wait_task(s, response.json()["task_id"])).status == DONE
    assert await versions(s, "k1", "k2") == {"k1": 2, "k2": 1}
    listed = (await s.http.get("/v2/items", params={"key": "acme"}, headers=s.auth())).json()["items"]
    assert {r["id"]: r["version"] for r in listed} == {"k1": 2, "k2": 1}
    assert all(r["update_time"].endswith("Z") for r in listed)


async def test_bulk_items_skip_an_item_whose_precondition_failed(http_stack) -> None:
    s = http_stack
    fields = [
        {"name": "title", "type": "string", "searchable": True},
        {"name": "x", "type": "number", "searchable": False},
    ]
    created = await s.http.post(
        "/data/v2/projects/acme/catalogs", json={"name": "Shop", "fields": fields}, headers=s.auth()
    )
    assert created.status_code == 200, created.text
    path = "/data/v2/projects/acme/catalogs/Shop/items"
    response = await s.http.put(path, json=[{"item_id": "m", "properties": {}}], headers=s.auth())
    assert response.status_code == 200, response.text
    assert (await wait_task(s, int(response.headers["X-Task-Id"]))).status == DONE
    assert await versions(s, "m", section="Shop") == {"m": 1}

    body = [
        {"item_id": "m", "properties": {"title": "M"}, "expected_version": 5},
        {"item_id": "n", "properties": {}, "expected_version": 0},
    ]
    response = await s.http.put(path, json=body, headers=s.auth())
    assert response.status_code == 200, response.text
    task = await wait_task(s, int(response.headers["X-Task-Id"]))
    assert task.status == DONE
    assert list(task.result.skipped_record_ids) == ["m"] and task.result.items.rejected == 1
    assert [(c.record_id, c.expected_version, c.current_version) for c in task.result.version_conflicts] == [
        ("m", 5, 1)
    ]
    assert await versions(s, "m", "n", section="Shop") == {"m": 1, "n": 1}
    response = await s.http.post(
        path + "/partial-update",
        json=[{"item_id": "m", "properties": {"x": 1}, "expected_version": 1}],
        headers=s.auth(),
    )
    assert (await wait_task(s, int(response.headers["X-Task-Id"]))).status == DONE
    assert await versions(s, "m", section="Shop") == {"m": 2}


async def test_etag_and_if_match_round_trip(http_stack) -> None:
    s, auth = http_stack, http_stack.auth()
    created = await s.http.put(
        "/v2/items/shoe", params={"key": "acme"}, json={"name": "Shoe", "data": {"size": 42}}, headers=auth
    )
    assert created.status_code == 200, created.text
    assert created.headers["ETag"] == '"1"' and int(created.headers["X-Task-Id"]) > 0
    assert created.json() | {"update_time": None} == {
        "id": "shoe", "name": "Shoe", "data": {"size": 42}, "version": 1, "update_time": None
    }  # fmt: skip

    read = await s.http.get("/v2/items/shoe", params={"key": "acme"}, headers=auth)
    assert read.status_code == 200 and read.headers["ETag"] == '"1"' and read.json()["version"] == 1
    assert (await s.http.get("/v2/items/nope", headers=auth)).status_code == 404

    # If-Match with the ETag read: applies, and answers the new ETag.
    patched = await s.http.patch(
        "/v2/items/shoe", json={"data": {"color": "red"}}, headers={**auth, "If-Match": read.headers["ETag"]}
    )
    assert patched.status_code == 200, patched.text
    assert patched.headers["ETag"] == '"2"' and patched.json()["data"] == {"size": 42, "color": "red"}

    # The stale ETag: 412 with the current version (body and ETag), nothing changed.
    stale = await s.http.put("/v2/items/shoe", json={"name": "Old"}, headers={**auth, "If-Match": '"1"'})
    assert stale.status_code == 412, stale.text
    body = stale.json()
    assert body["reason"] == "VERSION_MISMATCH" and body["code"] == "FAILED_PRECONDITION"
    assert (body["record_id"], body["expected_version"], body["current_version"]) == ("shoe", 1, 2)
    assert stale.headers["ETag"] == '"2"'
    assert (await s.http.get("/v2/items/shoe", headers=auth)).json()["name"] == "Shoe"

    # If-Match: * (must exist), a weak tag (never matches), a malformed one (400).
    assert (await s.http.put("/v2/items/ghost", json={}, headers={**auth, "If-Match": "*"})).status_code == 412
    assert (await s.http.get("/v2/items/ghost", headers=auth)).status_code == 404
    assert (await s.http.put("/v2/items/shoe", json={"name": "S"}, headers={**auth, "If-Match": "*"})).headers[
        "ETag"
    ] == '"3"'
    assert (await s.http.put("/v2/items/shoe", json={}, headers={**auth, "If-Match": 'W/"3"'})).status_code == 412
    assert (await s.http.put("/v2/items/shoe", json={}, headers={**auth, "If-Match": "3"})).status_code == 400
    # The body's expected_version works without If-Match; 0 is "must not exist".
    exists = await s.http.put("/v2/items/shoe", json={"name": "S2", "expected_version": 0}, headers=auth)
    assert exists.status_code == 412 and exists.json()["current_version"] == 3
    # A write that changes nothing (the If-Match: * PUT replaced the data with none): the same ETag.
    same = await s.http.put("/v2/items/shoe", json={"name": "S"}, headers=auth)
    assert same.status_code == 200 and same.headers["ETag"] == '"3"'

    # DELETE with a stale If-Match: 412; with the current one: gone.
    gone = await s.http.delete("/v2/items/shoe", headers={**auth, "If-Match": '"2"'})
    assert gone.status_code == 412 and gone.json()["current_version"] == 3
    gone = await s.http.delete("/v2/items/shoe", headers={**auth, "If-Match": '"3"'})
    assert gone.status_code == 200, gone.text
    assert (await s.http.get("/v2/items/shoe", headers=auth)).status_code == 404

    # Another task failure is a 400 naming the task's reason.
    orphan = await s.http.put("/v2/variations/v1", json={"item_id": "nope"}, headers=auth)
    assert orphan.status_code == 400 and orphan.json()["reason"] == "RECORD_WRITE_FAILED"
    assert "MISSING_PARENT_ITEM" in orphan.json()["message"]


async def test_a_conditional_race_between_two_http_clients_has_one_winner(http_stack) -> None:
    s, auth = http_stack, http_stack.auth()
    assert (await s.http.put("/v2/items/race", json={"data": {"v": 0}}, headers=auth)).headers["ETag"] == '"1"'

    async def client(value: int):
        return await s.http.put("/v2/items/race", json={"data": {"v": value}}, headers={**auth, "If-Match": '"1"'})

    answers = await asyncio.gather(client(1), client(2))
    assert sorted(a.status_code for a in answers) == [200, 412], [a.text for a in answers]
    winner = next(a for a in answers if a.status_code == 200)
    loser = next(a for a in answers if a.status_code == 412)
    assert winner.headers["ETag"] == '"2"'
    assert loser.json()["current_version"] == 2 and loser.headers["ETag"] == '"2"'
    final = await s.http.get("/v2/items/race", headers=auth)
    assert final.json()["data"] == winner.json()["data"] and final.headers["ETag"] == '"2"'


async def test_versions_on_batch_ingestions(http_stack) -> None:
    s = http_stack
    version = await new_version(s)

    async def ingest_batch(items: list[dict[str, Any]], *, modify: bool = False) -> None:
        batch = (await s.http.post("/batch-imports", params=scope(), headers=s.auth())).json()["id"]
        await (batch_modify if modify else add)(s, items, batch)
        status = await wait_ingestion(s, await ingest(s, {"catalogVersion": version, "batchImportId": batch,
                                                          "promoteCatalogOnCompletion": True}))  # fmt: skip
        assert status["status"] == "SUCCESS", status

    def item(item_id: str, **attributes: Any) -> dict[str, Any]:
        return {"id": item_id, "type": "product", "attributes": attributes}

    await ingest_batch([item("a", x=1), item("b", x=1)])
    await ingest_batch([item("a", x=1), item("b", x=2)])  # a unchanged
    await ingest_batch([item("a", y=5)], modify=True)  # a merged
    await ingest_batch([item("b", x=2)], modify=True)  # b: a no-op merge
    read = {r["id"]: r["version"] for r in (await items_of(s, collection="items")).values()}
    assert read == {"a": 2, "b": 2}
