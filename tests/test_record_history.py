"""Record history (issue 15): every write path leaves changes that name their task, read per record and per
task over HTTP and gRPC; point-in-time reads; retention; history off. Both backends, real HTTP and gRPC."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import text

from catalogingest.v1 import catalog_pb2, record_history_pb2, record_pb2, task_pb2
from service import retention
from service.settings import Settings
from tests.batch_helpers import add, ingest, new_version, scope, wait_ingestion
from tests.conftest import start_stack
from tests.helpers import error_details, eventually, wait_task


async def done(stack, response) -> dict:
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"] if "task_id" in response.text else int(response.headers["x-task-id"])

    async def probe() -> dict:
        return (await stack.http.get(f"/v1/tasks/{task_id}", headers=stack.auth())).json()

    task = await eventually(probe, lambda t: t["status"] in ("DONE", "FAILED"))
    assert task["status"] == "DONE", task
    return task


async def history(stack, collection: str, record_id: str, **params) -> list[dict]:
    response = await stack.http.get(f"/v2/{collection}/{record_id}/history", params=params, headers=stack.auth())
    assert response.status_code == 200, response.text
    return response.json()["changes"]


async def task_changes(stack, task_id: int) -> list[dict]:
    response = await stack.http.get(f"/v1/tasks/{task_id}/changes", headers=stack.auth())
    assert response.status_code == 200, response.text
    return response.json()["changes"]


async def count_history(stack) -> int:
    async with stack.engine.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM record_history"))).scalar_one()


def month_ago(conn) -> str:
    """SQL for 31 days before the database clock (past the 30 days of history kept), as the backend stores it."""
    if conn.dialect.name == "postgresql":
        return "now() - interval '31 days'"
    return "strftime('%Y-%m-%d %H:%M:%f', 'now', '-31 days') || '000'"


def fields(change: dict) -> dict[str, tuple]:
    return {f["field"]: (f.get("before", "-"), f.get("after", "-")) for f in change["fields"]}


async def test_v2_and_grpc_writes_name_their_task(http_stack) -> None:
    s, auth = http_stack, http_stack.auth()
    shoe = {"id": "shoe", "name": "Shoe", "data": {"url": "/s", "facets": {"color": ["red"], "size": ["m"]}}}
    put = await done(
        s,
        await s.http.put(
            "/v2/items", json={"items": [shoe, {"id": "hat", "name": "Hat"}]}, headers={**auth, "X-Request-Id": "r-1"}
        ),
    )
    await done(
        s, await s.http.put("/v2/variations", json={"variations": [{"id": "shoe-1", "item_id": "shoe"}]}, headers=auth)
    )
    patch = await done(
        s,
        await s.http.patch(
            "/v2/items",
            json={
                "items": [
                    {"id": "shoe", "name": "Shoe 2", "data": {"url": None, "price": 5, "facets": {"color": ["blue"]}}}
                ]
            },
            headers=auth,
        ),
    )
    # The same values again: applied, but nothing changed, so no history.
    await done(s, await s.http.patch("/v2/items", json={"items": [{"id": "shoe", "name": "Shoe 2"}]}, headers=auth))
    grpc_write = await s.catalog.UpdateRecords(
        catalog_pb2.UpdateRecordsRequest(
            collection="items", records=[record_pb2.Record(id="hat", suggested_score=2.5)]
        ),
        metadata=s.metadata(),
    )
    assert (await wait_task(s, grpc_write.task_id)).status == task_pb2.TASK_STATUS_DONE
    delete = await done(s, await s.http.request("DELETE", "/v2/items", json={"items": [{"id": "shoe"}]}, headers=auth))

    changes = await history(s, "items", "shoe")
    assert [(c["operation"], c["task_id"]) for c in changes] == [
        ("DELETE", delete["id"]),
        ("UPDATE", patch["id"]),
        ("CREATE", put["id"]),
    ]
    created = changes[2]
    assert created["request_id"] == "r-1" and created["task_type"] == "records_replace"
    assert created["collection"] == "items" and created["fields"] == []
    assert changes[1]["task_type"] == "records_update"
    assert fields(changes[1]) == {
        "name": ("Shoe", "Shoe 2"),
        "data.url": ("/s", "-"),
        "data.price": ("-", 5),
        "data.facets.color": (["red"], ["blue"]),
    }
    assert fields(changes[0])["name"] == ("Shoe 2", "-")
    assert fields(changes[0])["data.facets"] == ({"color": ["blue"], "size": ["m"]}, "-")
    # The item's delete took its variation along: that change names the same task.
    newest = (await history(s, "variations", "shoe-1"))[0]
    assert (newest["operation"], newest["task_id"]) == ("DELETE", delete["id"])
    assert {(c["collection"], c["id"], c["operation"]) for c in await task_changes(s, delete["id"])} == {
        ("items", "shoe", "DELETE"),
        ("variations", "shoe-1", "DELETE"),
    }
    hat = await history(s, "items", "hat")
    assert hat[0]["task_id"] == grpc_write.task_id and fields(hat[0]) == {"suggested_score": (None, 2.5)}

    # gRPC reads the same, and pages newest first.
    first = await s.catalog.ListRecordHistory(
        catalog_pb2.ListRecordHistoryRequest(collection="items", id="shoe", num_results_per_page=2),
        metadata=s.metadata(),
    )
    assert [c.operation for c in first.changes] == [
        record_history_pb2.RECORD_OPERATION_DELETE,
        record_history_pb2.RECORD_OPERATION_UPDATE,
    ]
    rest = await s.catalog.ListRecordHistory(
        catalog_pb2.ListRecordHistoryRequest(collection="items", id="shoe", page_token=first.next_page_token),
        metadata=s.metadata(),
    )
    assert [c.task_id for c in rest.changes] == [put["id"]] and not rest.next_page_token
    page = await s.http.get("/v2/items/shoe/history", params={"num_results_per_page": 1}, headers=auth)
    assert len(page.json()["changes"]) == 1 and page.json()["next_page_token"]
    by_task = await s.tasks.ListTaskChanges(task_pb2.ListTaskChangesRequest(id=put["id"]), metadata=s.metadata())
    assert [(c.id, c.operation) for c in by_task.changes] == [
        ("shoe", record_history_pb2.RECORD_OPERATION_CREATE),
        ("hat", record_history_pb2.RECORD_OPERATION_CREATE),
    ]
    # Another tenant sees neither the task's changes nor the record's.
    other = await s.http.get(f"/v1/tasks/{put['id']}/changes", headers=s.auth("globex"))
    assert other.status_code == 404
    assert (await s.http.get("/v2/items/shoe/history", headers=s.auth("globex"))).status_code == 404


async def test_csv_sync_and_delta(http_stack) -> None:
    s, auth = http_stack, http_stack.auth()

    async def upload(method: str, csv: bytes, **params) -> dict:
        response = await s.http.request(
            method,
            "/v1/catalog",
            params={"key": "acme", **params},
            files={"items": ("items.csv", csv, "text/csv")},
            headers=auth,
        )
        return await done(s, response)

    first = await upload("PUT", b"id,item_name,url\na,A,/a\nb,B,/b\nc,C,/c\n")
    assert await count_history(s) == 3
    # The same sync again changes nothing and writes no history.
    again = await upload("PUT", b"id,item_name,url\na,A,/a\nb,B,/b\nc,C,/c\n")
    assert again["result"]["items"]["unchanged"] == 3 and await count_history(s) == 3
    sync = await upload("PUT", b"id,item_name,url\na,A2,/a\nb,B,/b\n")
    delta = await upload("PATCH", b"id,item_name,url\nb,B,/b2\n")
    assert await task_changes(s, again["id"]) == []
    assert {(c["id"], c["operation"]) for c in await task_changes(s, sync["id"])} == {("a", "UPDATE"), ("c", "DELETE")}
    assert [c["task_type"] for c in await history(s, "items", "a")] == ["catalog_sync", "catalog_sync"]
    # What the sync changed, as the sync's own statements (PostgreSQL) or the triggers (SQLite) wrote it: in the
    # order applied (the delete first), each side's values, and as_of before it answers the record then.
    deleted, updated = await task_changes(s, sync["id"])
    assert (deleted["id"], fields(deleted)) == ("c", {"name": ("C", "-"), "data.url": ("/c", "-")})
    assert (updated["id"], fields(updated)) == ("a", {"name": ("A", "A2")})
    first_change = min(dt.datetime.fromisoformat(c["change_time"]) for c in (deleted, updated))
    before_sync = (first_change - dt.timedelta(microseconds=1)).isoformat()
    for record_id, name in (("a", "A"), ("c", "C")):
        response = await s.http.get(f"/v2/items/{record_id}", params={"as_of": before_sync}, headers=auth)
        assert response.status_code == 200, response.text
        assert (response.json()["name"], response.json()["version"]) == (name, 1)
    b = await history(s, "items", "b")
    assert (b[0]["task_id"], b[0]["task_type"], fields(b[0])) == (
        delta["id"],
        "catalog_delta",
        {"data.url": ("/b", "/b2")},
    )
    assert b[1]["task_id"] == first["id"]


async def test_bulk_ingestion_and_activation(http_stack) -> None:
    s, auth = http_stack, http_stack.auth()
    define = await s.http.post(
        "/data/v2/projects/acme/catalogs",
        json={"name": "shop", "fields": [{"name": "title", "type": "string"}, {"name": "price", "type": "number"}]},
        headers=auth,
    )
    assert define.status_code == 200, define.text
    items = "/data/v2/projects/acme/catalogs/shop/items"
    bulk = await done(s, await s.http.put(items, json=[{"item_id": "a", "properties": {"title": "A"}}], headers=auth))
    partial = await done(
        s,
        await s.http.post(items + "/partial-update", json=[{"item_id": "a", "properties": {"price": 3}}], headers=auth),
    )
    changes = await history(s, "items", "a", section="shop")
    assert [(c["operation"], c["task_id"], c["task_type"]) for c in changes] == [
        ("UPDATE", partial["id"], "bulk_items_update"),
        ("CREATE", bulk["id"], "bulk_items_replace"),
    ]
    assert fields(changes[0]) == {"data.price": ("-", 3)}

    # Batch imports: an ingestion into the active version, with deleteMissingItems, then a new version.
    batch = (await s.http.post("/batch-imports", params=scope("shop"), headers=auth)).json()["id"]
    active = (await s.http.get("/catalogs/active", params=scope("shop"), headers=auth)).json()["version"]
    await add(s, [{"id": "b", "type": "product", "attributes": {"title": "B"}}], batch, environment="shop")
    ingestion = await wait_ingestion(
        s,
        await ingest(s, {"catalogVersion": active, "batchImportId": batch, "deleteMissingItems": True}, "shop"),
        "shop",
    )
    assert ingestion["status"] == "SUCCESS", ingestion
    task_id = (await s.http.get("/v1/tasks", params={"type": "batch_ingestion"}, headers=auth)).json()["tasks"][0]["id"]
    assert {(c["id"], c["operation"], c["task_type"]) for c in await task_changes(s, task_id)} == {
        ("b", "CREATE", "batch_ingestion"),
        ("a", "DELETE", "batch_ingestion"),
    }
    version = await new_version(s, "shop")
    await add(s, [{"id": "c", "type": "product", "attributes": {"title": "C"}}], version, environment="shop")
    promoted = await wait_ingestion(
        s, await ingest(s, {"catalogVersion": version, "promoteCatalogOnCompletion": True}, "shop"), "shop"
    )
    assert promoted["status"] == "SUCCESS", promoted
    before = await count_history(s)
    # Activating a version (a rollback) changes which records are read, not a record: no history.
    rollback = await s.http.post(f"/catalogs/activate/{active}", params=scope("shop"), headers=auth)
    assert rollback.status_code == 200, rollback.text
    assert await count_history(s) == before
    assert [c["operation"] for c in await history(s, "items", "b", section="shop")] == ["CREATE"]


async def test_as_of_reads_the_earlier_state(http_stack) -> None:
    s, auth = http_stack, http_stack.auth()
    await done(s, await s.http.put("/v2/item_groups", json={"item_groups": [{"id": "g"}]}, headers=auth))
    put = {"id": "p", "name": "Pen", "suggested_score": 1, "data": {"url": "/p", "facets": {"ink": ["blue"]}}}
    await done(s, await s.http.put("/v2/items", json={"items": [put]}, headers=auth))
    patch = {"id": "p", "name": "Pen 2", "data": {"url": None, "group_ids": ["g"], "facets": {"ink": ["red"]}}}
    await done(s, await s.http.patch("/v2/items", json={"items": [patch]}, headers=auth))
    await done(s, await s.http.request("DELETE", "/v2/items", json={"items": [{"id": "p"}]}, headers=auth))
    deleted, updated, created = await history(s, "items", "p")

    async def as_of(when: str) -> tuple[int, dict]:
        response = await s.http.get("/v2/items/p", params={"as_of": when}, headers=auth)
        body = response.json()
        # The version and update time the record had then.
        if response.status_code == 200:
            assert dt.datetime.fromisoformat(body.pop("update_time")) <= dt.datetime.fromisoformat(when)
        return response.status_code, body

    assert await as_of(created["change_time"]) == (200, {**put, "suggested_score": 1.0, "version": 1})
    assert await as_of(updated["change_time"]) == (
        200,
        {
            "id": "p",
            "name": "Pen 2",
            "suggested_score": 1.0,
            "data": {"group_ids": ["g"], "facets": {"ink": ["red"]}},
            "version": 2,
        },
    )
    status, body = await as_of(deleted["change_time"])
    assert status == 404 and body["reason"] == "RECORD_ABSENT"
    earlier = dt.datetime.fromisoformat(created["change_time"]) - dt.timedelta(microseconds=1)
    assert (await as_of(earlier.isoformat()))[0] == 404
    assert (await s.http.get("/v2/items/p", headers=auth)).status_code == 404
    group = (await s.http.get("/v2/item_groups/g", headers=auth)).json()
    assert group.pop("update_time")
    assert group == {"id": "g", "name": None, "parent_ids": [], "data": {}, "version": 1}

    stamp = Timestamp()
    stamp.FromJsonString(updated["change_time"])
    record = (
        await s.catalog.GetRecord(
            catalog_pb2.GetRecordRequest(collection="items", id="p", as_of=stamp), metadata=s.metadata()
        )
    ).record
    assert (record.name, record.suggested_score) == ("Pen 2", 1.0)
    # Before the retention: a clear error, over HTTP and gRPC.
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=31)).isoformat()
    status, body = await as_of(long_ago)
    assert status == 400 and body["reason"] == "HISTORY_NOT_KEPT" and "kept" in body["message"]
    stamp.FromDatetime(dt.datetime.now(dt.UTC) - dt.timedelta(days=31))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await s.catalog.GetRecord(
            catalog_pb2.GetRecordRequest(collection="items", id="p", as_of=stamp), metadata=s.metadata()
        )
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_details(raised.value)[1] == "HISTORY_NOT_KEPT"


async def test_history_off_writes_nothing(database_url) -> None:
    async with start_stack(database_url, history_retention_seconds=0) as s:
        await done(s, await s.http.put("/v2/items", json={"items": [{"id": "a"}]}, headers=s.auth()))
        await done(s, await s.http.patch("/v2/items", json={"items": [{"id": "a", "name": "A"}]}, headers=s.auth()))
        assert await count_history(s) == 0
        response = await s.http.get("/v2/items/a", params={"as_of": "2026-01-01T00:00:00Z"}, headers=s.auth())
        assert response.status_code == 400 and response.json()["reason"] == "HISTORY_NOT_KEPT"
        assert (await s.http.get("/v2/items/a", headers=s.auth())).json()["name"] == "A"


async def test_a_purge_keeps_the_changes_inside_the_retention(http_stack) -> None:
    """Older changes go, newer ones stay, whichever order they were written in (the purge is bounded by the
    first change kept: service.store.record_history.purge_history)."""
    s = http_stack
    for record in ("a", "b", "c"):
        await done(s, await s.http.put("/v2/items", json={"items": [{"id": record}]}, headers=s.auth()))
    # a and c written 31 days ago, b inside the 30 days kept.
    async with s.engine.begin() as conn:
        month = month_ago(conn)
        await conn.execute(text(f"UPDATE record_history SET changed_at = {month} WHERE record_id IN ('a', 'c')"))
    await retention.periodic_purge(s.engine, s.settings)()
    async with s.engine.connect() as conn:
        kept = (await conn.execute(text("SELECT record_id FROM record_history ORDER BY id"))).scalars().all()
    # c is older than the retention but numbered after b, the first change kept: it waits for a later purge.
    assert kept == ["b", "c"]
    await done(s, await s.http.put("/v2/items", json={"items": [{"id": "d"}]}, headers=s.auth()))
    async with s.engine.begin() as conn:
        await conn.execute(text(f"UPDATE record_history SET changed_at = {month} WHERE record_id = 'b'"))
    await retention.periodic_purge(s.engine, s.settings)()
    async with s.engine.connect() as conn:
        kept = (await conn.execute(text("SELECT record_id FROM record_history ORDER BY id"))).scalars().all()
    assert kept == ["d"]


async def test_retention_purges_old_changes(http_stack) -> None:
    s = http_stack
    await done(s, await s.http.put("/v2/items", json={"items": [{"id": "a"}]}, headers=s.auth()))
    assert await count_history(s) == 1
    # The workers' periodic job with the configured retention keeps a fresh change ...
    await retention.periodic_purge(s.engine, s.settings)()
    assert await count_history(s) == 1
    # ... and purges it once it is older than the retention.
    short = Settings.from_env({}, database_url=s.database_url, history_retention_seconds=0.2)
    purge = retention.periodic_purge(s.engine, short)

    async def purged() -> int:
        await purge()
        return await count_history(s)

    await eventually(purged, lambda n: n == 0)
