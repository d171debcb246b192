"""Issue 10 #6, #7 (R3, R4): writes that race (batches, a sync), and what a modification does to a source."""

from __future__ import annotations

import datetime as dt

from catalogingest.v1 import task_pb2
from tests.batch_helpers import add, ingest, items_of, modify, new_version, scope, wait_ingestion
from tests.helpers import wait_task
from tests.test_catalog_upload import ITEMS, SYNC, upload
from tests.test_record_writes import listed, ok, rec, ts


async def new_batch(stack) -> str:
    response = await stack.http.post("/batch-imports", params=scope(), headers=stack.auth())
    assert response.status_code == 200, response.text
    return response.json()["id"]


def products(count: int, feed: str) -> list[dict]:
    return [{"id": f"p{n}", "type": "product", "attributes": {"feed": feed}} for n in range(count)]


async def run(stack, **body) -> dict:
    status = await wait_ingestion(stack, await ingest(stack, body))
    assert status["status"] == "SUCCESS", status
    return status


async def test_an_older_batch_ingested_after_a_newer_one_removes_and_overwrites_nothing(http_stack) -> None:
    """The issue's 8k / 10k batches at 80 / 100 items: the older batch, filled first, is ingested last."""
    s = http_stack
    version = await new_version(s)
    older = await new_batch(s)
    assert {r["code"] for r in await add(s, products(80, "older"), older)} == {0}
    newer = await new_batch(s)
    assert {r["code"] for r in await add(s, products(100, "newer"), newer)} == {0}
    common = {"catalogVersion": version, "source": "erp", "deleteMissingItems": True}

    first = await run(s, batchImportId=newer, promoteCatalogOnCompletion=True, **common)
    assert (first["upsertedItemCount"], first["deletedItemCount"]) == (100, 0)
    last = await run(s, batchImportId=older, **common)
    assert (last["upsertedItemCount"], last["deletedItemCount"]) == (0, 0)
    items = await items_of(s)
    assert len(items) == 100 and {item["data"]["feed"] for item in items.values()} == {"newer"}


async def test_delete_missing_still_removes_what_is_older_than_the_batch(http_stack) -> None:
    s = http_stack
    version = await new_version(s)
    await add(s, products(3, "first"), version)
    await run(s, catalogVersion=version, source="erp", promoteCatalogOnCompletion=True)
    later = await new_batch(s)
    await add(s, products(1, "later"), later)
    status = await run(s, catalogVersion=version, batchImportId=later, source="erp", deleteMissingItems=True)
    assert (status["upsertedItemCount"], status["deletedItemCount"]) == (1, 2)
    assert set(await items_of(s)) == {"p0"}


async def test_a_modify_only_batch_keeps_the_items_source(http_stack) -> None:
    s = http_stack
    version = await new_version(s)
    await add(s, products(2, "erp"), version)
    await run(s, catalogVersion=version, source="erp", promoteCatalogOnCompletion=True)
    patch = await new_batch(s)
    assert [r["code"] for r in await modify(s, [{"id": "p1", "type": "product", "attributes": {"x": 1}}], patch)] == [0]
    # Ingested with the default source: the modification must not move p1 out of source "erp".
    await run(s, catalogVersion=version, batchImportId=patch)
    assert (await items_of(s))["p1"]["data"] == {"feed": "erp", "x": 1}
    sync = await new_batch(s)
    await add(s, products(1, "erp"), sync)
    status = await run(s, catalogVersion=version, batchImportId=sync, source="erp", deleteMissingItems=True)
    assert status["deletedItemCount"] == 1
    assert set(await items_of(s)) == {"p0"}


async def test_a_csv_sync_keeps_a_missing_record_written_after_it(stack) -> None:
    """A record whose last write is newer than the sync (a later timestamp) is not the sync's to delete."""
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    await ok(stack, "ReplaceRecords", "items", [rec("old"), rec("keep")])
    await ok(stack, "ReplaceRecords", "items", [rec("newer", timestamp=ts(later))])
    task = await wait_task(stack, await upload(stack, SYNC, {ITEMS: "id\nkeep\n"}, section="Products", force=True))
    assert task.status == task_pb2.TASK_STATUS_DONE, task.error
    assert task.result.items.deleted == 1
    assert {r.id for r in await listed(stack, "items")} == {"keep", "newer"}
