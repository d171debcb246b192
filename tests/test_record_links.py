"""Issue 10 #9 (R2): links between records on every write path, on both backends.

Deleting an item deletes its variations (cascade, counted); an item's group_ids and a group's parent_ids
must name existing groups; no group cycles; a group still linked to cannot be deleted."""

from __future__ import annotations

from catalogingest.v1 import task_pb2
from tests.batch_helpers import add, delete, ingest, items_of, new_version, scope, wait_ingestion
from tests.helpers import wait_task
from tests.test_bulk_items import applied, bulk_stack, send
from tests.test_catalog_upload import GROUPS, ITEMS, SYNC, VARIATIONS, upload
from tests.test_record_writes import FAILED, counts, listed, ok, rec, write

ITEMS_CSV = "id,item_name,group_ids\nshoe,Shoe,g1\nhat,Hat,g2\n"
VARIATIONS_CSV = "variation_id,item_id\nshoe-42,shoe\nshoe-43,shoe\nhat-m,hat\n"
GROUPS_CSV = 'id,name,parent_ids\ng1,Shoes,[]\ng2,Sale,"[""g1""]"\n'


async def sync(stack, files: dict[int, str], **header) -> task_pb2.Task:
    return await wait_task(stack, await upload(stack, SYNC, files, section="Products", **header))


async def ids(stack, collection: str) -> set[str]:
    return {r.id for r in await listed(stack, collection)}


async def test_a_csv_sync_without_an_item_deletes_its_variations(stack) -> None:
    done = await sync(stack, {ITEMS: ITEMS_CSV, VARIATIONS: VARIATIONS_CSV, GROUPS: GROUPS_CSV})
    assert done.status == task_pb2.TASK_STATUS_DONE, done.error
    # Items only: the hat goes, and with it its variation.
    task = await sync(stack, {ITEMS: "id,item_name,group_ids\nshoe,Shoe,g1\n"})
    assert task.status == task_pb2.TASK_STATUS_DONE, task.error
    assert (task.result.items.deleted, task.result.variations.deleted) == (1, 1)
    assert await ids(stack, "variations") == {"shoe-42", "shoe-43"}
    # The same variations again: the hat's is refused as before (its item is gone), nothing orphaned remains.
    again = await sync(stack, {VARIATIONS: "variation_id,item_id\nshoe-42,shoe\nshoe-43,shoe\n"})
    assert again.status == task_pb2.TASK_STATUS_DONE, again.error


async def test_deleting_an_item_over_v2_and_grpc_deletes_its_variations(http_stack) -> None:
    s = http_stack
    await ok(s, "ReplaceRecords", "items", [rec("a"), rec("b")])
    await ok(
        s, "ReplaceRecords", "variations", [rec("a1", item_id="a"), rec("a2", item_id="a"), rec("b1", item_id="b")]
    )
    response = await s.http.request("DELETE", "/v2/items", json={"items": [{"id": "a"}]}, headers=s.auth())
    assert response.status_code == 200, response.text
    task = await wait_task(s, response.json()["task_id"])
    assert counts(task, "items") == {"deleted": 1} and counts(task, "variations") == {"deleted": 2}
    grpc_delete = await ok(s, "DeleteRecords", "items", [rec("b")])
    assert counts(grpc_delete, "variations") == {"deleted": 1}
    assert await ids(s, "variations") == set()


async def test_links_to_missing_groups_are_refused_naming_record_column_and_id(stack) -> None:
    await ok(stack, "ReplaceRecords", "item_groups", [rec("g1")])
    bad = await write(
        stack, "ReplaceRecords", "items", [rec("ok", {"group_ids": ["g1"]}), rec("x", {"group_ids": ["g1", "nope"]})]
    )
    assert bad.status == FAILED
    assert (bad.error.reason, bad.error.record_id, bad.error.column) == ("MISSING_GROUP", "x", "group_ids")
    assert "'nope'" in bad.error.message
    assert await ids(stack, "items") == set()
    parent = await write(stack, "ReplaceRecords", "item_groups", [rec("g2", parent_ids=["ghost"])])
    assert (parent.status, parent.error.reason, parent.error.column) == (FAILED, "MISSING_GROUP", "parent_ids")
    assert "'ghost'" in parent.error.message
    # CSV: named by file, row and column.
    csv = await sync(stack, {ITEMS: "id,group_ids\na,g1\nb,g9\n"}, force=True)
    assert csv.status == task_pb2.TASK_STATUS_FAILED
    assert (csv.error.file, csv.error.row, csv.error.column) == ("items.csv", 3, "group_ids")


async def test_group_cycles_are_refused(stack) -> None:
    await ok(stack, "ReplaceRecords", "item_groups", [rec("ga"), rec("gb", parent_ids=["ga"])])
    cycle = await write(stack, "UpdateRecords", "item_groups", [rec("ga", parent_ids=["gb"])])
    assert (cycle.status, cycle.error.reason) == (FAILED, "GROUP_CYCLE")
    assert cycle.error.record_id == "ga" and cycle.error.column == "parent_ids"
    own = await write(stack, "ReplaceRecords", "item_groups", [rec("gc", parent_ids=["gc"])])
    assert (own.status, own.error.reason, own.error.record_id) == (FAILED, "GROUP_CYCLE", "gc")
    assert await ids(stack, "item_groups") == {"ga", "gb"}


async def test_a_group_still_linked_cannot_be_deleted_unless_the_task_removes_the_links(stack) -> None:
    await sync(stack, {ITEMS: ITEMS_CSV, GROUPS: GROUPS_CSV})
    linked = await write(stack, "DeleteRecords", "item_groups", [rec("g2")])
    assert (linked.status, linked.error.reason, linked.error.record_id) == (FAILED, "MISSING_GROUP", "hat")
    # A sync that drops g2 and the link to it in one task is fine.
    task = await sync(stack, {ITEMS: "id,group_ids\nshoe,g1\nhat,g1\n", GROUPS: "id,parent_ids\ng1,[]\n"}, force=True)
    assert task.status == task_pb2.TASK_STATUS_DONE, task.error
    assert await ids(stack, "item_groups") == {"g1"}


async def test_bulk_items_naming_a_missing_group_are_rejected_one_by_one(database_url) -> None:
    async with bulk_stack(database_url) as s:
        path = "/data/v2/projects/acme/catalogs/free/items"
        await ok(s, "ReplaceRecords", "item_groups", [rec("g1")], section="free")
        _, task_id = await send(
            s,
            "PUT",
            path,
            [
                {"item_id": "a", "properties": {"group_ids": ["g1"]}},
                {"item_id": "b", "properties": {"group_ids": ["zz"]}},
            ],
        )
        task = await applied(s, task_id)
        assert (task.result.items.created, task.result.items.rejected) == (1, 1)
        assert list(task.result.skipped_record_ids) == ["b"]


async def test_batch_deletes_cascade_to_variants_and_missing_groups_are_item_errors(http_stack) -> None:
    s = http_stack
    version = await new_version(s)
    batch = [
        {"id": "p1", "type": "product", "attributes": {}},
        {"id": "p2", "type": "product", "attributes": {}},
        {"id": "v1", "type": "variant", "parentId": "p1", "attributes": {}},
        {"id": "v2", "type": "variant", "parentId": "p2", "attributes": {}},
        {"id": "p3", "type": "product", "attributes": {"group_ids": ["nope"]}},
    ]
    await add(s, batch, version)
    first = await wait_ingestion(s, await ingest(s, {"catalogVersion": version, "promoteCatalogOnCompletion": True}))
    assert first["status"] == "SUCCESS" and first["itemErrorsSummary"]["MISSING_GROUP"]["sampleIds"] == ["p3"]
    # Batch delete of p1: v1 goes with it.
    tombstones = (await s.http.post("/batch-imports", params=scope(), headers=s.auth())).json()["id"]
    await delete(s, [{"id": "p1", "type": "product"}], tombstones)
    second = await wait_ingestion(s, await ingest(s, {"catalogVersion": version, "batchImportId": tombstones}))
    assert second["deletedItemCount"] == 2
    assert set(await items_of(s, collection="variations")) == {"v2"}
    # deleteMissingItems without p2: v2 goes with it.
    only = (await s.http.post("/batch-imports", params=scope(), headers=s.auth())).json()["id"]
    await add(s, [{"id": "p9", "type": "product", "attributes": {}}], only)
    third = await wait_ingestion(
        s, await ingest(s, {"catalogVersion": version, "batchImportId": only, "deleteMissingItems": True})
    )
    assert third["status"] == "SUCCESS" and third["deletedItemCount"] == 2, third
    assert set(await items_of(s)) == {"p9"} and await items_of(s, collection="variations") == {}
