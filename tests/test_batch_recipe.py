"""The batch items document's migration recipe and sample bodies, verbatim, against the gateway."""

from __future__ import annotations

import json

from tests.batch_helpers import active_version, add, delete, items_of, modify, scope, wait_ingestion

# The document's sample bodies, as written.
ADD_SAMPLE = """[
   {
        "id": "id1",
        "type": "product",
        "timestamp": "2024-09-05T10:50:42Z",
        "attributes": {
            "title": "Item 1",
            "url": "https://example.com/item1"
        }
   },
   {
        "id": "id2",
        "type": "variant",
        "parentId": "id1",
        "attributes": {
            "size": 2
        }
    }
]"""
MODIFY_SAMPLE = """[{
        "id": "id1",
        "type": "product",
        "attributes": {
\t\t    "url": "https://example.com/item1_patch"
        }
}]"""
DELETE_SAMPLE = """[{
  "id": "id1",
  "type": "product"
}]"""


async def test_the_migration_recipe_runs_as_written(http_stack) -> None:
    stack = http_stack
    # 1. Create a catalog with its default batch.
    created = await stack.http.post("/catalogs", params=scope(createBatchImport="true"), headers=stack.auth())
    assert created.status_code == 200, created.text
    version = created.json()["version"]
    assert created.json()["state"] == "INACTIVE" and created.json()["batchImportId"] == version
    # 2. Send items to /batch-imports/items with batch_id = the catalog version.
    response = await stack.http.post(
        "/batch-imports/items",
        params=scope(batch_id=version),
        content=ADD_SAMPLE,
        headers={**stack.auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == [
        {"id": {"id": "id1", "type": "product", "context": ""}, "code": 0},
        {"id": {"id": "id2", "type": "variant", "context": ""}, "code": 0},
    ]
    # 3. The ingestion call of the document (catalogVersion unquoted, as the sample writes it).
    body = '{\n  "catalogVersion": ' + version + ',\n  "promoteCatalogOnCompletion": true\n}'
    started = await stack.http.post(
        "/batch-imports/ingestions",
        params=scope(),
        content=body,
        headers={**stack.auth(), "Content-Type": "application/json"},
    )
    assert started.status_code == 200, started.text
    ingestion_id = started.json()["id"]
    assert list(started.json()) == ["id"]
    status = await wait_ingestion(stack, ingestion_id)
    assert status["status"] == "SUCCESS", status
    assert status["upsertedItemCount"] == 2 and status["itemErrorCount"] == 0
    assert status["itemErrorsSummary"] == {}
    assert status["configuration"] == {
        "batchImportId": version,
        "catalogVersion": version,
        "minItemCount": 0,
        "minSuccessRatePercent": 0.0,
        "source": "",
        "deleteMissingItems": False,
        "promoteCatalogOnCompletion": True,
    }
    assert float(status["duration"]) >= 0 and status["createdAt"] and status["updatedAt"]
    assert "statusReason" not in status
    # The version is active and holds the items.
    active = await active_version(stack)
    assert active["version"] == version and active["state"] == "ACTIVE" and active["itemCount"] == 2
    items = await items_of(stack)
    assert items["id1"]["data"] == {"title": "Item 1", "url": "https://example.com/item1"}
    variants = await items_of(stack, collection="variations")
    assert variants["id2"]["item_id"] == "id1" and variants["id2"]["data"] == {"size": 2}


async def test_modify_and_delete_samples(http_stack) -> None:
    stack = http_stack
    version = (await stack.http.post("/catalogs", params=scope(createBatchImport="true"), headers=stack.auth())).json()[
        "version"
    ]
    await add(stack, json.loads(ADD_SAMPLE), version)
    patched = await modify(stack, json.loads(MODIFY_SAMPLE), version)
    assert patched == [{"id": {"id": "id1", "type": "product", "context": ""}, "code": 0}]
    status = await wait_ingestion(stack, await _ingest(stack, version))
    assert status["status"] == "SUCCESS", status
    items = await items_of(stack)
    # Only the given attribute changed.
    assert items["id1"]["data"] == {"title": "Item 1", "url": "https://example.com/item1_patch"}
    # The delete sample: a tombstone that the next ingestion applies.
    second = (await stack.http.post("/catalogs", params=scope(createBatchImport="true"), headers=stack.auth())).json()
    deleted = await delete(stack, json.loads(DELETE_SAMPLE), second["version"])
    assert deleted == [{"id": {"id": "id1", "type": "product", "context": ""}, "code": 0}]
    status = await wait_ingestion(
        stack, await _ingest(stack, version, batchImportId=second["version"], promoteCatalogOnCompletion=False)
    )
    # id1's variant id2 goes with it (R2: deleting an item deletes its variations), counted as deleted.
    assert status["status"] == "SUCCESS" and status["deletedItemCount"] == 2, status
    assert "id1" not in await items_of(stack)
    assert "id2" not in await items_of(stack, collection="variations")


async def _ingest(stack, version: str, **body) -> str:
    response = await stack.http.post(
        "/batch-imports/ingestions",
        params=scope(),
        json={"catalogVersion": version, "promoteCatalogOnCompletion": True, **body},
        headers=stack.auth(),
    )
    assert response.status_code == 200, response.text
    return response.json()["id"]
