"""Dry runs (issue 14): every write with `dry_run=true` (`validate_only`) does the work, rolls it back, and shows
in result.preview exactly what the real run then does; the catalog is left byte for byte as it was."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from sqlalchemy import select

from catalogingest.v1 import catalog_pb2, task_pb2
from service.db.models import Record, Task
from service.webhooks.models import WebhookDelivery as Delivery
from tests import batch_helpers as batch
from tests.helpers import eventually, wait_task

KINDS = {1: "items", 2: "variations", 3: "item_groups"}
Dump = dict[tuple[int, int, str, str], dict[str, Any]]


async def dump(stack: Any) -> Dump:
    """Every record of every version, every column."""
    async with stack.engine.connect() as conn:
        rows = (await conn.execute(select(Record))).all()
    return {(r.version_id, r.kind, r.record_id, r.context): dict(r._mapping) for r in rows}


def _fields(kind: int, row: dict[str, Any]) -> dict[str, Any]:
    fields = {
        "name": row["name"],
        "suggested_score": row["suggested_score"],
        "item_id" if kind == 2 else "parent_id": row["parent_id"],
        "parent_ids": row["parent_ids"] or None,
    }
    shown = {k: v for k, v in fields.items() if v is not None}
    shown.update({f"data.{k}": v for k, v in (row["data"] or {}).items()})
    return shown


def what_changed(before: Dump, after: Dump) -> dict[str, dict[str, Any]]:
    """Per kind: the ids created and deleted, and per updated id its changed fields' new values."""
    out: dict[str, dict[str, Any]] = {
        name: {"created": set(), "deleted": set(), "updated": {}} for name in KINDS.values()
    }
    for key in after.keys() - before.keys():
        out[KINDS[key[1]]]["created"].add(key[2])
    for key in before.keys() - after.keys():
        out[KINDS[key[1]]]["deleted"].add(key[2])
    for key in before.keys() & after.keys():
        old, new = _fields(key[1], before[key]), _fields(key[1], after[key])
        changed = {k: new.get(k) for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
        if changed:
            out[KINDS[key[1]]]["updated"][key[2]] = changed
    return out


def assert_preview_matches(preview: dict[str, Any], result: dict[str, Any], changes: dict[str, Any]) -> None:
    """The dry run's counts are the real run's, and its samples are what the real run changed (all of it, when
    no more than 20 of a kind)."""
    assert not preview.get("would_fail"), preview
    for name in KINDS.values():
        shown = preview.get(name, {})
        counts = {k: int(v) for k, v in shown.get("counts", {}).items()}
        if name in result:
            real = {k: int(v) for k, v in result[name].items()}
        else:  # an ingestion reports totals: its counts per kind are what it changed
            real = counts | {k: len(changes[name][k]) for k in ("created", "deleted", "updated")}
        assert counts == real, (name, counts, real)
        for sample, real_ids in (
            (shown.get("created_ids", []), changes[name]["created"]),
            (shown.get("deleted_ids", []), changes[name]["deleted"]),
            ([u["id"] for u in shown.get("updated", [])], set(changes[name]["updated"])),
        ):
            assert set(sample) <= real_ids and len(sample) == len(set(sample)) == min(20, len(real_ids)), name
        updated = {u["id"]: u for u in shown.get("updated", [])}
        for record_id, change in updated.items():
            real_after = changes[name]["updated"][record_id]
            assert set(change["changed_fields"]) == set(real_after), (record_id, change)
            assert change.get("after", {}) == {k: v for k, v in real_after.items() if v is not None}, change


async def http_task(stack: Any, task_id: int) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        return (await stack.http.get(f"/v1/tasks/{task_id}", headers=stack.auth())).json()

    return await eventually(probe, lambda task: task["status"] in ("DONE", "FAILED", "CANCELED"))


async def v2(stack: Any, method: str, collection: str, body: Any, **params: Any) -> dict[str, Any]:
    response = await stack.http.request(
        method, f"/v2/{collection}", params={"section": "Shop", **params}, json=body, headers=stack.auth()
    )
    assert response.status_code == 200, response.text
    return await http_task(stack, response.json()["task_id"])


async def dry_then_real(stack: Any, write: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run `write(dry_run)` dry (nothing changes, no webhook), then for real; the preview must be what happened."""
    before = await dump(stack)
    dry = await write(True)
    assert dry["status"] == "DONE", dry
    preview = dry["result"]["preview"]
    assert await dump(stack) == before, "a dry run changed the catalog"
    async with stack.engine.connect() as conn:
        sent = (await conn.execute(select(Delivery.id).where(Delivery.task_id == int(dry["id"])))).all()
    assert sent == [], "a dry run sent a webhook"
    real = await write(False)
    assert real["status"] == "DONE", real
    assert_preview_matches(preview, real["result"], what_changed(before, await dump(stack)))
    return preview, real


def counts(**given: int) -> dict[str, int]:
    return {k: given.get(k, 0) for k in ("created", "updated", "deleted", "unchanged", "rejected")}


def _items(*ids: str, **data: Any) -> dict[str, Any]:
    return {"items": [{"id": i, "name": f"Item {i}", "data": {"price": 1, **data}} for i in ids]}


async def test_v2_writes_preview_what_they_then_do(http_stack) -> None:
    s = http_stack
    await v2(s, "PUT", "items", _items(*(f"i{n}" for n in range(30))))
    await v2(s, "PUT", "item_groups", {"item_groups": [{"id": "g1", "name": "G", "parent_ids": []}]})

    def dry_arg(dry: bool) -> dict[str, str]:
        return {"dry_run": "true"} if dry else {}

    # PUT: 25 created (20 shown), 3 updated, 2 unchanged.
    body = _items(*(f"n{n}" for n in range(25)))
    body["items"] += [{"id": f"i{n}", "name": f"Renamed {n}", "data": {"price": 2}} for n in range(3)]
    body["items"] += [{"id": f"i{n}", "name": f"Item i{n}", "data": {"price": 1}} for n in range(3, 5)]
    preview, _ = await dry_then_real(s, lambda dry: v2(s, "PUT", "items", body, **dry_arg(dry)))
    assert preview["items"]["counts"] == counts(created=25, updated=3, unchanged=2)
    assert len(preview["items"]["created_ids"]) == 20
    shown = {u["id"]: u for u in preview["items"]["updated"]}
    assert shown["i0"] == {
        "id": "i0",
        "context": "",
        "changed_fields": ["data.price", "name"],
        "before": {"name": "Item i0", "data.price": 1},
        "after": {"name": "Renamed 0", "data.price": 2},
    }

    patch = {"items": [{"id": "i10", "data": {"price": None, "color": "red"}}, {"id": "i11", "name": "Eleven"}]}
    await dry_then_real(s, lambda dry: v2(s, "PATCH", "items", patch, **dry_arg(dry)))
    delete = {"items": [{"id": "i20"}, {"id": "i21"}, {"id": "absent"}]}
    preview, _ = await dry_then_real(s, lambda dry: v2(s, "DELETE", "items", delete, **dry_arg(dry)))
    assert sorted(preview["items"]["deleted_ids"]) == ["i20", "i21"]


async def test_a_dry_run_sends_no_webhook(http_stack) -> None:
    s = http_stack
    hook = {"notification_url": "http://127.0.0.1:9/hook"}
    dry = await v2(s, "PUT", "items", _items("w"), dry_run="true", **hook)
    real = await v2(s, "PUT", "items", _items("w"), **hook)
    async with s.engine.connect() as conn:
        sent = (await conn.execute(select(Delivery.task_id))).scalars().all()
    assert int(real["id"]) in sent and int(dry["id"]) not in sent


async def test_a_patch_that_would_fail_is_previewed_as_failing_and_done(http_stack) -> None:
    s = http_stack
    await v2(s, "PUT", "items", _items("a"))
    before = await dump(s)
    task = await v2(s, "PATCH", "items", {"items": [{"id": "nope", "name": "x"}]}, dry_run="true")
    assert task["status"] == "DONE"
    preview = task["result"]["preview"]
    assert preview["would_fail"] is True and preview["guard_would_stop"] is False
    assert preview["errors"][0]["reason"] == "RECORD_NOT_FOUND" and preview["errors"][0]["record_id"] == "nope"
    assert await dump(s) == before


ITEMS_CSV = "id,item_name,url\n" + "".join(f"p{n},Product {n},https://x/{n}\n" for n in range(10))


async def upload(stack: Any, method: str, files: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await stack.http.request(
        method,
        "/v1/catalog",
        params={"section": "Shop", **params},
        files={name: (f"{name}.csv", text) for name, text in files.items()},
        headers=stack.auth(),
    )
    assert response.status_code == 200, response.text
    return await http_task(stack, response.json()["task_id"])


async def test_csv_sync_and_delta_preview_what_they_then_do(http_stack) -> None:
    s = http_stack
    assert (await upload(s, "PUT", {"items": ITEMS_CSV}))["status"] == "DONE"
    # A sync: p0..p3 deleted (4 of 10, under the guard), p4 renamed, n1 and n2 created.
    synced = "id,item_name,url\n" + "".join(f"p{n},Product {n},https://x/{n}\n" for n in range(5, 10))
    synced += "p4,Renamed,https://x/4\nn1,New 1,https://x/n1\nn2,New 2,https://x/n2\n"
    preview, _ = await dry_then_real(
        s, lambda dry: upload(s, "PUT", {"items": synced}, **({"dry_run": "true"} if dry else {}))
    )
    assert sorted(preview["items"]["deleted_ids"]) == ["p0", "p1", "p2", "p3"]
    delta = "id,item_name,url\np5,Five,https://x/5\nn3,New 3,https://x/n3\n"
    await dry_then_real(s, lambda dry: upload(s, "PATCH", {"items": delta}, **({"dry_run": "true"} if dry else {})))


async def test_the_guard_is_previewed_then_a_retry_with_force_succeeds(http_stack) -> None:
    s = http_stack
    assert (await upload(s, "PUT", {"items": ITEMS_CSV}))["status"] == "DONE"
    small = "id,item_name,url\np0,Product 0,https://x/0\n"
    before = await dump(s)
    dry = await upload(s, "PUT", {"items": small}, dry_run="true")
    assert dry["status"] == "DONE"
    preview = dry["result"]["preview"]
    assert preview["would_fail"] is True and preview["guard_would_stop"] is True
    assert preview["errors"][0]["reason"] == "SAFETY_THRESHOLD"
    assert await dump(s) == before

    failed = await upload(s, "PUT", {"items": small})
    assert failed["status"] == "FAILED" and failed["error"]["reason"] == "SAFETY_THRESHOLD"
    # The retry's dry run previews the forced sync; then the forced retry does it.
    response = await s.http.post(
        f"/v1/tasks/{failed['id']}:retry", json={"force": True, "dryRun": True}, headers=s.auth()
    )
    assert response.status_code == 200, response.text
    dry_retry = await http_task(s, int(response.json()["id"]))
    assert dry_retry["retry_of"] == failed["id"] and dry_retry["result"]["preview"]["items"]["counts"] == counts(
        deleted=9, unchanged=1
    )
    assert await dump(s) == before
    response = await s.http.post(f"/v1/tasks/{failed['id']}:retry", json={"force": True}, headers=s.auth())
    assert response.status_code == 200, response.text
    retried = response.json()
    assert retried["retry_of"] == failed["id"] and retried["type"] == "catalog_sync"
    done = await http_task(s, int(retried["id"]))
    assert done["status"] == "DONE" and done["result"]["items"] == counts(deleted=9, unchanged=1), done
    assert_preview_matches(dry_retry["result"]["preview"], done["result"], what_changed(before, await dump(s)))


async def test_bulk_item_writes_preview_what_they_then_do(database_url) -> None:
    from tests.test_bulk_items import bulk_stack

    async with bulk_stack(database_url) as s:

        async def bulk(path_method: str, items: list[dict[str, Any]], dry: bool, **params: Any) -> dict[str, Any]:
            method, suffix = path_method.split(" ")
            response = await s.http.request(
                method,
                f"/data/v2/projects/acme/catalogs/shop/items{suffix}",
                json=items,
                params={**params, **({"dry_run": "true"} if dry else {})},
                headers=s.auth(),
            )
            assert response.status_code == 200, response.text
            return await http_task(s, int(response.headers["x-task-id"]))

        first = [{"item_id": f"b{n}", "properties": {"title": f"B{n}", "price": n}} for n in range(5)]
        await dry_then_real(s, lambda dry: bulk("PUT ", first, dry))
        update = [{"item_id": "b1", "properties": {"price": 100}}, {"item_id": "b9", "properties": {"title": "N"}}]
        await dry_then_real(s, lambda dry: bulk("POST /partial-update", update, dry, upsert="true"))


async def test_an_ingestion_previews_what_it_then_does(http_stack) -> None:
    s = http_stack
    env = batch.ENV

    async def ingestion(version: str, dry: bool, **extra: Any) -> dict[str, Any]:
        body = {"catalogVersion": version, "minItemCount": 0, "minSuccessRatePercent": 0, **extra}
        if dry:
            body["dryRun"] = True
        ingestion_id = await batch.ingest(s, body)
        outcome = await batch.wait_ingestion(s, ingestion_id)
        async with s.engine.connect() as conn:
            task_id = (await conn.execute(select(Task.id).order_by(Task.id.desc()).limit(1))).scalar_one()
        task = await http_task(s, task_id)
        task["ingestion"] = outcome
        return task

    version = await batch.new_version(s, env)
    await batch.add(s, [{"id": f"x{n}", "type": "item", "attributes": {"n": n}} for n in range(4)], version)
    preview, real = await dry_then_real(s, lambda dry: ingestion(version, dry, promoteCatalogOnCompletion=True))
    assert preview["items"]["counts"] == counts(created=4)
    assert real["ingestion"]["status"] == "SUCCESS"


async def test_grpc_validate_only_returns_the_preview_in_the_task(stack) -> None:
    request = catalog_pb2.ReplaceRecordsRequest(collection="items", validate_only=True)
    request.records.add(id="g1", name="Grpc")
    response = await stack.catalog.ReplaceRecords(request, metadata=stack.metadata())
    task = await wait_task(stack, response.task_id)
    assert task.status == task_pb2.TASK_STATUS_DONE
    assert list(task.result.preview.items.created_ids) == ["g1"] and task.result.preview.items.counts.created == 1
    assert not task.result.HasField("items")
    listed = await stack.catalog.ListRecords(
        catalog_pb2.ListRecordsRequest(collection="items"), metadata=stack.metadata()
    )
    assert list(listed.records) == []
    assert json_format.MessageToDict(task)["result"]["preview"]["items"]["createdIds"] == ["g1"]


@pytest.mark.parametrize("status", ["DONE", "QUEUED"])
async def test_only_failed_or_canceled_tasks_are_retried(http_stack, status) -> None:
    s = http_stack
    task = await v2(s, "PUT", "items", _items("a"))
    task_id = int(task["id"])
    if status == "QUEUED":
        async with s.engine.begin() as conn:
            from sqlalchemy import update

            await conn.execute(update(Task).where(Task.id == task_id).values(status="QUEUED", worker_id=None))
    response = await s.http.post(f"/v1/tasks/{task_id}:retry", json={}, headers=s.auth())
    assert response.status_code == 400, response.text
    assert response.json()["reason"] == "TASK_NOT_RETRIABLE" and status in response.json()["message"]
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await s.tasks.RetryTask(task_pb2.RetryTaskRequest(id=task_id), metadata=s.metadata())
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await s.tasks.RetryTask(task_pb2.RetryTaskRequest(id=task_id), metadata=s.metadata("globex"))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_canceled_task_keeps_its_payload_and_is_retried(database_url) -> None:
    from tests.conftest import start_stack

    async with start_stack(database_url, worker=False) as s:
        response = await s.http.put("/v2/items", params={"section": "Shop"}, json=_items("c1"), headers=s.auth())
        task_id = response.json()["task_id"]
        canceled = await s.http.post(f"/v1/tasks/{task_id}:cancel", headers=s.auth())
        assert canceled.json()["status"] == "CANCELED"
        bad = await s.http.post(f"/v1/tasks/{task_id}:retry", json={"on_invalid": "MAYBE"}, headers=s.auth())
        assert bad.status_code == 400 and "on_invalid" in bad.text, bad.text
        retried = await s.http.post(f"/v1/tasks/{task_id}:retry", json={}, headers=s.auth())
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "QUEUED" and retried.json()["retry_of"] == task_id
        # Once retention dropped the payload, a retry says why.
        async with s.engine.begin() as conn:
            from sqlalchemy import delete

            from service.db.models import TaskPayload

            await conn.execute(delete(TaskPayload).where(TaskPayload.task_id == task_id))
        gone = await s.http.post(f"/v1/tasks/{task_id}:retry", json={}, headers=s.auth())
        assert gone.status_code == 409, gone.text
        assert gone.json()["reason"] == "TASK_PAYLOAD_EXPIRED"
        assert "CATALOG_INGEST_FAILED_PAYLOAD_RETENTION_SECONDS" in gone.json()["message"]
