"""Batch ingestions: schema validation, thresholds, item error summaries, sources, listing, deleting, errors."""

from __future__ import annotations

import asyncio

import pytest

from catalogingest.v1 import task_pb2
from service.store.batch_ingest import BatchIngest
from service.tasks.worker import Worker
from tests.batch_helpers import ENV, active_version, add, ingest, items_of, new_version, scope, wait_ingestion
from tests.conftest import start_stack
from tests.helpers import eventually

FIELDS = [
    {"name": "title", "type": "string"},
    {"name": "price", "type": "number"},
    {"name": "sku", "type": "string", "required": True},
]


async def with_schema(stack, environment: str = ENV) -> None:
    response = await stack.http.post(
        "/data/v2/projects/acme/catalogs", json={"name": environment, "fields": FIELDS}, headers=stack.auth()
    )
    assert response.status_code == 200, response.text


def product(item_id: str, **attributes) -> dict:
    return {"id": item_id, "type": "product", "attributes": {"sku": item_id.upper(), **attributes}}


async def three_good_one_bad(stack) -> str:
    await with_schema(stack)
    version = await new_version(stack)
    batch = [product("a", price=1), product("b", title="B"), product("c"), product("bad", price="abc")]
    assert [r["code"] for r in await add(stack, batch, version)] == [0, 0, 0, 0]
    return version


async def run(stack, **body) -> dict:
    return await wait_ingestion(stack, await ingest(stack, body))


async def test_min_item_count_fails_then_passes(http_stack) -> None:
    stack = http_stack
    version = await three_good_one_bad(stack)
    failed = await run(stack, catalogVersion=version, minItemCount=4, promoteCatalogOnCompletion=True)
    assert failed["status"] == "FAILURE"
    assert failed["statusReason"] == "3 of 4 items passed validation, fewer than minItemCount 4; nothing was changed"
    assert failed["itemErrorCount"] == 1
    assert failed["itemErrorsSummary"] == {
        "INVALID_ATTRIBUTES": {
            "count": 1,
            "sampleIds": ["bad"],
            "sampleMessage": "Field 'price' (number) must be a number, got \"abc\".",
        }
    }
    assert float(failed["duration"]) >= 0
    assert "upsertedItemCount" not in failed and "deletedItemCount" not in failed
    # Nothing changed: not loaded, not promoted.
    assert (await active_version(stack))["version"] == "1"
    listed = await stack.http.get("/catalogs", params=scope(), headers=stack.auth())
    assert [v["itemCount"] for v in listed.json()] == [0, 0]

    passed = await run(stack, catalogVersion=version, minItemCount=3, promoteCatalogOnCompletion=True)
    assert passed["status"] == "SUCCESS", passed
    assert passed["upsertedItemCount"] == 3 and passed["itemErrorCount"] == 1 and passed["deletedItemCount"] == 0
    assert set(await items_of(stack)) == {"a", "b", "c"}


async def test_ingestion_tasks_show_in_the_task_list(http_stack) -> None:
    stack = http_stack
    version = await three_good_one_bad(stack)
    failed = await run(stack, catalogVersion=version, minItemCount=4)
    passed = await run(stack, catalogVersion=version)
    assert (failed["status"], passed["status"]) == ("FAILURE", "SUCCESS")
    listed = await stack.http.get("/v1/tasks", params={"section": ENV, "type": "batch_ingestion"}, headers=stack.auth())
    assert listed.status_code == 200, listed.text
    newest, oldest = listed.json()["tasks"]
    assert (newest["status"], newest["result"]["ingestion_id"]) == ("DONE", passed["id"])
    assert (oldest["status"], oldest["error"]["reason"]) == ("FAILED", "THRESHOLD_NOT_MET")
    assert oldest["error"]["message"] == failed["statusReason"]


async def test_min_success_rate_fails_then_passes(http_stack) -> None:
    stack = http_stack
    version = await three_good_one_bad(stack)
    failed = await run(stack, catalogVersion=version, minSuccessRatePercent=80)
    assert failed["status"] == "FAILURE"
    assert failed["statusReason"] == (
        "75.00% of the items passed validation (3 of 4), below minSuccessRatePercent 80; nothing was changed"
    )
    passed = await run(stack, catalogVersion=version, minSuccessRatePercent=75)
    assert passed["status"] == "SUCCESS" and passed["upsertedItemCount"] == 3


async def test_structural_item_errors_are_summarized(http_stack) -> None:
    stack = http_stack
    version = await new_version(stack)
    batch = [
        {"id": "p1", "type": "product", "attributes": {}},
        {"id": "v1", "type": "variant", "parentId": "p1", "attributes": {}},
        {"id": "v2", "type": "variant", "parentId": "ghost", "attributes": {}},
        {"id": "v3", "type": "variant", "parentId": "ghost", "attributes": {}},
        {"id": "p1", "type": "bundle", "timestamp": "2000-01-01T00:00:00Z", "attributes": {}},
    ]
    await add(stack, batch, version)
    await stack.http.patch(
        "/batch-imports/items",
        params=scope(batch_id=version),
        json=[{"id": "never-added", "type": "product", "attributes": {"x": 1}}],
        headers=stack.auth(),
    )
    status = await run(stack, catalogVersion=version)
    assert status["status"] == "SUCCESS", status
    summary = status["itemErrorsSummary"]
    assert status["itemErrorCount"] == 4 and status["upsertedItemCount"] == 2
    assert summary["MISSING_PARENT"]["count"] == 2 and summary["MISSING_PARENT"]["sampleIds"] == ["v2", "v3"]
    assert summary["MISSING_PARENT"]["sampleMessage"] == (
        f"parentId 'ghost' names no valid item of the batch or of catalog version {version}"
    )
    assert summary["MISSING_ITEM"]["sampleIds"] == ["never-added"]
    assert summary["DUPLICATE_ID"] == {
        "count": 1,
        "sampleIds": ["p1"],
        "sampleMessage": "item 'p1' is also in the batch with type 'product'",
    }


async def test_a_modification_merges_into_the_versions_record(http_stack) -> None:
    stack = http_stack
    version = await new_version(stack)
    await add(stack, [{"id": "a", "type": "product", "attributes": {"x": 1, "y": 1}}], version)
    assert (await run(stack, catalogVersion=version, promoteCatalogOnCompletion=True))["status"] == "SUCCESS"
    patch = await stack.http.post("/batch-imports", params=scope(), headers=stack.auth())
    patch_id = patch.json()["id"]
    await stack.http.patch(
        "/batch-imports/items",
        params=scope(batch_id=patch_id),
        json=[{"id": "a", "type": "product", "attributes": {"y": 2}}],
        headers=stack.auth(),
    )
    status = await run(stack, catalogVersion=version, batchImportId=patch_id)
    assert status["status"] == "SUCCESS" and status["upsertedItemCount"] == 1, status
    assert status["configuration"]["batchImportId"] == patch_id
    assert (await items_of(stack))["a"]["data"] == {"x": 1, "y": 2}


async def test_delete_missing_items_only_touches_the_given_source(http_stack) -> None:
    stack = http_stack
    version = await new_version(stack)
    await add(stack, [product("a1"), product("a2")], version)
    assert (await run(stack, catalogVersion=version, source="feedA", promoteCatalogOnCompletion=True))[
        "status"
    ] == "SUCCESS"
    second = (await stack.http.post("/batch-imports", params=scope(), headers=stack.auth())).json()["id"]
    await add(stack, [product("b1")], second)
    assert (await run(stack, catalogVersion=version, batchImportId=second, source="feedB"))["status"] == "SUCCESS"
    third = (await stack.http.post("/batch-imports", params=scope(), headers=stack.auth())).json()["id"]
    await add(stack, [product("a1", title="again")], third)
    status = await run(stack, catalogVersion=version, batchImportId=third, source="feedA", deleteMissingItems=True)
    assert status["status"] == "SUCCESS" and status["deletedItemCount"] == 1 and status["upsertedItemCount"] == 1
    assert set(await items_of(stack)) == {"a1", "b1"}


async def test_creation_errors(http_stack) -> None:
    stack = http_stack
    version = await new_version(stack)
    missing = await stack.http.post("/batch-imports/ingestions", params=scope(), json={}, headers=stack.auth())
    assert missing.status_code == 400 and missing.json()["message"] == "catalogVersion is required"
    nowhere = await stack.http.post(
        "/batch-imports/ingestions", params=scope(), json={"catalogVersion": "99"}, headers=stack.auth()
    )
    assert nowhere.status_code == 404 and "catalog version '99' not found" in nowhere.json()["message"]
    rate = await stack.http.post(
        "/batch-imports/ingestions",
        params=scope(),
        json={"catalogVersion": version, "minSuccessRatePercent": 101},
        headers=stack.auth(),
    )
    assert rate.status_code == 400 and "minSuccessRatePercent" in rate.json()["message"]
    other_env = await stack.http.post(
        "/batch-imports/ingestions", params=scope("staging"), json={"catalogVersion": version}, headers=stack.auth()
    )
    assert other_env.status_code == 404
    other_tenant = await stack.http.post(
        "/batch-imports/ingestions", params=scope(), json={"catalogVersion": version}, headers=stack.auth("globex")
    )
    assert other_tenant.status_code == 403


async def test_list_get_and_delete(http_stack) -> None:
    stack = http_stack
    version = await three_good_one_bad(stack)
    failed = await run(stack, catalogVersion=version, minItemCount=10)
    passed = await run(stack, catalogVersion=version)
    staging = await new_version(stack, "staging")
    await add(stack, [product("s")], staging, environment="staging")
    elsewhere = await wait_ingestion(
        stack, await ingest(stack, {"catalogVersion": staging}, environment="staging"), environment="staging"
    )

    async def listed(**params) -> list[str]:
        response = await stack.http.get(
            "/batch-imports/ingestions", params={"tenant": "acme", **params}, headers=stack.auth()
        )
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()]

    assert await listed() == [elsewhere["id"], passed["id"], failed["id"]]
    assert await listed(environment=ENV) == [passed["id"], failed["id"]]
    assert await listed(environment=[ENV, "staging"], status="FAILURE") == [failed["id"]]
    assert await listed(lookback_duration=60_000) == [elsewhere["id"], passed["id"], failed["id"]]
    assert await listed(lookback_duration=1) == []  # all were created more than a millisecond ago
    negative = await stack.http.get(
        "/batch-imports/ingestions", params={"tenant": "acme", "lookback_duration": -5}, headers=stack.auth()
    )
    assert negative.status_code == 400 and "lookback_duration" in negative.json()["message"]
    bad_status = await stack.http.get(
        "/batch-imports/ingestions", params={"tenant": "acme", "status": "DONE"}, headers=stack.auth()
    )
    assert bad_status.status_code == 400
    # Another environment's ingestion does not exist from here.
    cross = await stack.http.get(f"/batch-imports/ingestions/{elsewhere['id']}", params=scope(), headers=stack.auth())
    assert cross.status_code == 404
    deleted = await stack.http.delete(f"/batch-imports/ingestions/{failed['id']}", params=scope(), headers=stack.auth())
    assert deleted.status_code == 200 and deleted.json() == {}
    gone = await stack.http.get(f"/batch-imports/ingestions/{failed['id']}", params=scope(), headers=stack.auth())
    assert gone.status_code == 404 and f"ingestion '{failed['id']}' not found" in gone.json()["message"]
    assert await listed(environment=ENV) == [passed["id"]]


async def test_an_unexpected_error_is_error_and_changes_nothing(http_stack, monkeypatch) -> None:
    stack = http_stack
    version = await new_version(stack)
    await add(stack, [product("a")], version)

    async def broken(self, source: str) -> int:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(BatchIngest, "upsert", broken)
    status = await run(stack, catalogVersion=version, promoteCatalogOnCompletion=True)
    assert status["status"] == "ERROR"
    assert "internal error (RuntimeError)" in status["statusReason"]
    assert "itemErrorCount" not in status and "duration" not in status
    assert (await active_version(stack))["version"] == "1"


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_ingestions_of_one_catalog_apply_in_order(http_stack) -> None:
    stack = http_stack
    version = await new_version(stack)
    await add(stack, [product("a")], version)
    first = await ingest(stack, {"catalogVersion": version, "source": "s1"})
    second_batch = (await stack.http.post("/batch-imports", params=scope(), headers=stack.auth())).json()["id"]
    await add(stack, [product("b")], second_batch)
    second = await ingest(
        stack,
        {
            "catalogVersion": version,
            "batchImportId": second_batch,
            "source": "s1",
            "deleteMissingItems": True,
            "promoteCatalogOnCompletion": True,
        },
    )
    assert (await wait_ingestion(stack, first))["status"] == "SUCCESS"
    assert (await wait_ingestion(stack, second))["deletedItemCount"] == 1
    assert set(await items_of(stack)) == {"b"}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_batch_that_expires_before_its_ingestion_runs_fails_it(database_url) -> None:
    async with start_stack(database_url, worker=False, batch_expiry_seconds=1.0) as stack:
        version = await new_version(stack)
        await add(stack, [product("a")], version)
        ingestion_id = await ingest(stack, {"catalogVersion": version})

        async def batches() -> list:
            return (await stack.http.get("/batch-imports", params=scope(), headers=stack.auth())).json()

        await eventually(batches, lambda listed: listed == [], timeout=10)
        stop = asyncio.Event()
        worker = asyncio.create_task(Worker(stack.engine, stack.settings).run(stop))
        try:
            status = await wait_ingestion(stack, ingestion_id)
        finally:
            stop.set()
            await worker
    assert status["status"] == "FAILURE"
    assert status["statusReason"] == f"batch '{version}' expired or was deleted; nothing was changed"


async def test_an_ingestion_whose_task_is_canceled_is_a_failure(database_url) -> None:
    async with start_stack(database_url, worker=False) as stack:
        version = await new_version(stack)
        await add(stack, [product("a")], version)
        ingestion_id = await ingest(stack, {"catalogVersion": version})
        listed = await stack.http.get("/v1/tasks", params={"section": ENV}, headers=stack.auth())
        (task,) = listed.json()["tasks"]
        await stack.tasks.CancelTask(task_pb2.CancelTaskRequest(id=task["id"]), metadata=stack.metadata())
        response = await stack.http.get(
            f"/batch-imports/ingestions/{ingestion_id}", params=scope(), headers=stack.auth()
        )
    assert response.status_code == 200, response.text
    status = response.json()
    assert (status["status"], status["statusReason"]) == ("FAILURE", f"task {task['id']} was canceled before it ran")
    assert status["configuration"]["catalogVersion"] == version
