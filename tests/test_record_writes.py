"""Record writes as a user sees them: ReplaceRecords, UpdateRecords, DeleteRecords become tasks whose status,
result and error say what happened, and whose effect is read back with BatchGetRecords / ListRecords."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import grpc
import orjson
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from tests.conftest import start_stack
from tests.helpers import error_details, wait_task

DONE, FAILED = task_pb2.TASK_STATUS_DONE, task_pb2.TASK_STATUS_FAILED
IGNORE, CREATE = catalog_pb2.ON_MISSING_IGNORE, catalog_pb2.ON_MISSING_CREATE
REQUESTS = {
    "ReplaceRecords": catalog_pb2.ReplaceRecordsRequest,
    "UpdateRecords": catalog_pb2.UpdateRecordsRequest,
    "DeleteRecords": catalog_pb2.DeleteRecordsRequest,
}


def rec(record_id: str, data: dict[str, Any] | None = None, **fields: Any) -> record_pb2.Record:
    return record_pb2.Record(id=record_id, data_json=orjson.dumps(data).decode() if data is not None else "", **fields)


def ts(value: dt.datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


async def submit(stack, method: str, collection: str, records: list[record_pb2.Record], **fields: Any) -> int:
    request = REQUESTS[method](collection=collection, records=records, **fields)
    response = await getattr(stack.catalog, method)(request, metadata=stack.metadata())
    assert response.task_status_path == f"/v1/task/{response.task_id}"
    return response.task_id


async def write(stack, method: str, collection: str, records: list[record_pb2.Record], **fields: Any) -> task_pb2.Task:
    return await wait_task(stack, await submit(stack, method, collection, records, **fields))


async def ok(stack, method: str, collection: str, records: list[record_pb2.Record], **fields: Any) -> task_pb2.Task:
    task = await write(stack, method, collection, records, **fields)
    assert task.status == DONE, task.error
    return task


def counts(task: task_pb2.Task, collection: str) -> dict[str, int]:
    bucket = getattr(task.result, collection)
    return {
        f: getattr(bucket, f) for f in ("created", "updated", "deleted", "unchanged", "rejected") if getattr(bucket, f)
    }


async def get(stack, collection: str, *ids: str, context: str = "") -> dict[str, record_pb2.Record]:
    response = await stack.catalog.BatchGetRecords(
        catalog_pb2.BatchGetRecordsRequest(collection=collection, ids=list(ids), context=context),
        metadata=stack.metadata(),
    )
    return {r.id: r for r in response.records}


async def listed(stack, collection: str) -> list[record_pb2.Record]:
    response = await stack.catalog.ListRecords(
        catalog_pb2.ListRecordsRequest(collection=collection, num_results_per_page=1000), metadata=stack.metadata()
    )
    return list(response.records)


def data(record: record_pb2.Record) -> dict[str, Any]:
    return orjson.loads(record.data_json)


# ---- ReplaceRecords ----------------------------------------------------------------------------------------------


async def test_replace_items_counts_created_updated_unchanged(stack) -> None:
    first = await ok(
        stack,
        "ReplaceRecords",
        "items",
        [
            rec("a", {"url": "/a", "brand": "x"}, name="A", suggested_score=1.5),
            rec("b", {"url": "/b"}, name="B"),
            rec("c", {"url": "/c"}, name="C"),
        ],
    )
    assert counts(first, "items") == {"created": 3}
    assert first.type == "records_replace" and first.section == "Products"

    got = await get(stack, "items", "a", "b", "c")
    assert got["a"].kind == record_pb2.RECORD_KIND_ITEM
    assert (got["a"].name, got["a"].suggested_score, data(got["a"])) == ("A", 1.5, {"url": "/a", "brand": "x"})
    assert not got["b"].HasField("suggested_score")

    # a: identical; b: changed (and replaced whole: fields not given are gone); d: new. c is not touched.
    second = await ok(
        stack,
        "ReplaceRecords",
        "items",
        [
            rec("a", {"brand": "x", "url": "/a"}, name="A", suggested_score=1.5),
            rec("b", {"color": "red"}, name="B2", suggested_score=2.0),
            rec("d", {}, name="D"),
        ],
    )
    assert counts(second, "items") == {"created": 1, "updated": 1, "unchanged": 1}
    got = await get(stack, "items", "a", "b", "c", "d")
    assert set(got) == {"a", "b", "c", "d"}
    assert (got["b"].name, got["b"].suggested_score, data(got["b"])) == ("B2", 2.0, {"color": "red"})
    assert data(got["c"]) == {"url": "/c"}

    # A replace without a name removes the stored name.
    third = await ok(stack, "ReplaceRecords", "items", [rec("d", {"k": 1})])
    assert counts(third, "items") == {"updated": 1}
    assert not (await get(stack, "items", "d"))["d"].HasField("name")

    again = await ok(stack, "ReplaceRecords", "items", [rec("d", {"k": 1})])
    assert counts(again, "items") == {"unchanged": 1}


async def test_replace_the_same_id_twice_in_one_call_keeps_the_last(stack) -> None:
    task = await ok(stack, "ReplaceRecords", "items", [rec("a", {"v": 1}, name="first"), rec("a", {"v": 2})])
    assert counts(task, "items") == {"created": 1}
    record = (await get(stack, "items", "a"))["a"]
    assert not record.HasField("name") and data(record) == {"v": 2}


async def test_variations_need_an_existing_item_and_fail_all_or_nothing(stack) -> None:
    await ok(stack, "ReplaceRecords", "items", [rec("p1", name="Parent 1"), rec("p2", name="Parent 2")])

    failed = await write(
        stack,
        "ReplaceRecords",
        "variations",
        [rec("v1", item_id="p1"), rec("v2", item_id="nope"), rec("v3", item_id="p2")],
    )
    assert failed.status == FAILED
    assert failed.error.reason == "MISSING_PARENT_ITEM"
    assert failed.error.record_id == "v2"
    assert "nope" in failed.error.message
    # Nothing of the failed task is applied: its valid variations are absent too.
    assert await get(stack, "variations", "v1", "v2", "v3") == {}
    assert await listed(stack, "variations") == []

    done = await ok(
        stack, "ReplaceRecords", "variations", [rec("v1", {"size": "M"}, item_id="p1"), rec("v3", item_id="p2")]
    )
    assert counts(done, "variations") == {"created": 2}
    assert counts(done, "items") == {}
    got = await get(stack, "variations", "v1", "v3")
    assert got["v1"].kind == record_pb2.RECORD_KIND_VARIATION
    assert (got["v1"].item_id, got["v3"].item_id, data(got["v1"])) == ("p1", "p2", {"size": "M"})

    # Moving a variation to a missing item through an update fails the same way and changes nothing.
    moved = await write(stack, "UpdateRecords", "variations", [rec("v3", item_id="gone", name="x")])
    assert moved.status == FAILED
    assert (moved.error.reason, moved.error.record_id) == ("MISSING_PARENT_ITEM", "v3")
    got = (await get(stack, "variations", "v3"))["v3"]
    assert got.item_id == "p2" and not got.HasField("name")

    # An update that leaves item_id alone keeps it.
    renamed = await ok(stack, "UpdateRecords", "variations", [rec("v1", name="V1")])
    assert counts(renamed, "variations") == {"updated": 1}
    got = (await get(stack, "variations", "v1"))["v1"]
    assert (got.name, got.item_id, data(got)) == ("V1", "p1", {"size": "M"})


async def test_item_groups_parent_ids_round_trip(stack) -> None:
    task = await ok(
        stack,
        "ReplaceRecords",
        "item_groups",
        [rec("root", name="Root"), rec("shoes", parent_ids=["root"]), rec("boots", parent_ids=["shoes", "root"])],
    )
    assert counts(task, "item_groups") == {"created": 3}
    got = await get(stack, "item_groups", "root", "shoes", "boots")
    assert got["root"].kind == record_pb2.RECORD_KIND_ITEM_GROUP
    assert list(got["root"].parent_ids) == []
    assert list(got["shoes"].parent_ids) == ["root"]
    assert list(got["boots"].parent_ids) == ["shoes", "root"]

    # An update without parent_ids keeps them; one with parent_ids replaces them.
    await ok(stack, "UpdateRecords", "item_groups", [rec("boots", name="Boots")])
    assert list((await get(stack, "item_groups", "boots"))["boots"].parent_ids) == ["shoes", "root"]
    changed = await ok(stack, "UpdateRecords", "item_groups", [rec("boots", parent_ids=["root"])])
    assert counts(changed, "item_groups") == {"updated": 1}
    boots = (await get(stack, "item_groups", "boots"))["boots"]
    assert (boots.name, list(boots.parent_ids)) == ("Boots", ["root"])

    same = await ok(stack, "ReplaceRecords", "item_groups", [rec("shoes", parent_ids=["root"])])
    assert counts(same, "item_groups") == {"unchanged": 1}


# ---- UpdateRecords -----------------------------------------------------------------------------------------------


async def test_update_merges_only_the_given_fields(stack) -> None:
    await ok(
        stack,
        "ReplaceRecords",
        "items",
        [rec("a", {"url": "/a", "brand": "x", "specs": {"color": "red", "size": "L"}}, name="A", suggested_score=3)],
    )
    task = await ok(stack, "UpdateRecords", "items", [rec("a", {"brand": "y", "specs": {"color": "blue"}})])
    assert task.type == "records_update"
    assert counts(task, "items") == {"updated": 1}
    got = (await get(stack, "items", "a"))["a"]
    assert (got.name, got.suggested_score) == ("A", 3)
    # Shallow: a given key replaces the stored value whole (specs.size is gone); keys not given are kept.
    assert data(got) == {"url": "/a", "brand": "y", "specs": {"color": "blue"}}

    await ok(stack, "UpdateRecords", "items", [rec("a", name="A2")])
    got = (await get(stack, "items", "a"))["a"]
    assert (got.name, got.suggested_score, data(got)["brand"]) == ("A2", 3, "y")

    await ok(stack, "UpdateRecords", "items", [rec("a", suggested_score=0.25)])
    got = (await get(stack, "items", "a"))["a"]
    assert (got.name, got.suggested_score) == ("A2", 0.25)

    same = await ok(stack, "UpdateRecords", "items", [rec("a", {"brand": "y"}, name="A2")])
    assert counts(same, "items") == {"unchanged": 1}


@pytest.mark.parametrize("on_missing", [catalog_pb2.ON_MISSING_UNSPECIFIED, catalog_pb2.ON_MISSING_FAIL])
async def test_update_on_missing_fail_names_the_record_and_changes_nothing(stack, on_missing: int) -> None:
    await ok(stack, "ReplaceRecords", "items", [rec("a", {"k": 1}, name="A")])
    task = await write(
        stack,
        "UpdateRecords",
        "items",
        [rec("a", {"k": 2}, name="changed"), rec("ghost", name="G")],
        on_missing=on_missing,
    )
    assert task.status == FAILED
    assert (task.error.reason, task.error.record_id) == ("RECORD_NOT_FOUND", "ghost")
    assert "ghost" in task.error.message
    got = await get(stack, "items", "a", "ghost")
    assert set(got) == {"a"}
    assert (got["a"].name, data(got["a"])) == ("A", {"k": 1})


async def test_update_on_missing_ignore_skips_the_record(stack) -> None:
    await ok(stack, "ReplaceRecords", "items", [rec("a", name="A")])
    task = await ok(stack, "UpdateRecords", "items", [rec("a", name="A2"), rec("ghost", name="G")], on_missing=IGNORE)
    # Skipped, not unchanged: counted as rejected and named (R8).
    assert counts(task, "items") == {"updated": 1, "rejected": 1}
    assert list(task.result.skipped_record_ids) == ["ghost"]
    assert [(r.id, r.name) for r in await listed(stack, "items")] == [("a", "A2")]


async def test_update_on_missing_create_creates_from_the_given_fields(stack) -> None:
    await ok(stack, "ReplaceRecords", "items", [rec("a", name="A")])
    task = await ok(
        stack, "UpdateRecords", "items", [rec("a", name="A2"), rec("new", {"url": "/new"}, name="N")], on_missing=CREATE
    )
    assert counts(task, "items") == {"created": 1, "updated": 1}
    got = await get(stack, "items", "a", "new")
    assert got["a"].name == "A2"
    assert (got["new"].name, data(got["new"])) == ("N", {"url": "/new"})

    # A variation created by an update still needs its item.
    orphan = await write(stack, "UpdateRecords", "variations", [rec("v", item_id="none")], on_missing=CREATE)
    assert (orphan.status, orphan.error.reason, orphan.error.record_id) == (FAILED, "MISSING_PARENT_ITEM", "v")
    made = await ok(stack, "UpdateRecords", "variations", [rec("v", item_id="a")], on_missing=CREATE)
    assert counts(made, "variations") == {"created": 1}
    assert (await get(stack, "variations", "v"))["v"].item_id == "a"


async def test_two_updates_of_one_id_in_one_call_compose_in_order(stack) -> None:
    await ok(stack, "ReplaceRecords", "items", [rec("a", {"k1": 1, "k2": 0}, name="A")])
    await ok(
        stack,
        "UpdateRecords",
        "items",
        [rec("a", {"k2": 2}, name="first"), rec("a", {"k3": 3}, name="second"), rec("a", {"k1": 10})],
    )
    got = (await get(stack, "items", "a"))["a"]
    assert got.name == "second"
    assert data(got) == {"k1": 10, "k2": 2, "k3": 3}

    # Creating and then updating the same new record in one call.
    task = await ok(
        stack, "UpdateRecords", "items", [rec("n", {"x": 1}, name="N"), rec("n", {"y": 2})], on_missing=CREATE
    )
    assert counts(task, "items")["created"] == 1
    got = (await get(stack, "items", "n"))["n"]
    assert (got.name, data(got)) == ("N", {"x": 1, "y": 2})


# ---- DeleteRecords -----------------------------------------------------------------------------------------------


async def test_delete_counts_deleted_and_unknown_ids_unchanged(stack) -> None:
    await ok(stack, "ReplaceRecords", "items", [rec("a"), rec("b"), rec("c")])
    task = await ok(stack, "DeleteRecords", "items", [rec("a"), rec("unknown"), rec("c"), rec("c")])
    assert task.type == "records_delete"
    assert counts(task, "items") == {"deleted": 2, "unchanged": 1}
    assert [r.id for r in await listed(stack, "items")] == ["b"]

    again = await ok(stack, "DeleteRecords", "items", [rec("a")])
    assert counts(again, "items") == {"unchanged": 1}

    # Only kind, id and context are read: a data_json that is not JSON does not matter.
    await ok(stack, "DeleteRecords", "items", [record_pb2.Record(id="b", data_json="not json")])
    assert await listed(stack, "items") == []


# ---- Timestamps --------------------------------------------------------------------------------------------------


async def test_a_write_older_than_the_last_write_of_a_record_is_ignored(stack) -> None:
    base = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)
    t1, t2, t3, t4 = (ts(base + dt.timedelta(minutes=m)) for m in (1, 2, 3, 4))

    await ok(stack, "ReplaceRecords", "items", [rec("a", {"v": 2}, name="t2", timestamp=t2)])
    stored = (await get(stack, "items", "a"))["a"]
    assert stored.timestamp == t2

    old_replace = await ok(stack, "ReplaceRecords", "items", [rec("a", {"v": 1}, name="t1", timestamp=t1)])
    assert counts(old_replace, "items") == {"unchanged": 1}
    old_update = await ok(stack, "UpdateRecords", "items", [rec("a", {"v": 1}, name="t1", timestamp=t1)])
    assert counts(old_update, "items") == {"unchanged": 1}
    old_delete = await ok(stack, "DeleteRecords", "items", [rec("a", timestamp=t1)])
    assert counts(old_delete, "items") == {"unchanged": 1}
    # A write without a timestamp happens "now", which is older than t2.
    now_write = await ok(stack, "ReplaceRecords", "items", [rec("a", {"v": 0})])
    assert counts(now_write, "items") == {"unchanged": 1}
    stored = (await get(stack, "items", "a"))["a"]
    assert (stored.name, data(stored), stored.timestamp) == ("t2", {"v": 2}, t2)

    newer = await ok(stack, "UpdateRecords", "items", [rec("a", {"w": 3}, name="t3", timestamp=t3)])
    assert counts(newer, "items") == {"updated": 1}
    stored = (await get(stack, "items", "a"))["a"]
    assert (stored.name, data(stored), stored.timestamp) == ("t3", {"v": 2, "w": 3}, t3)

    gone = await ok(stack, "DeleteRecords", "items", [rec("a", timestamp=t4)])
    assert counts(gone, "items") == {"deleted": 1}
    assert await get(stack, "items", "a") == {}


async def test_an_identical_newer_write_still_moves_the_record_timestamp(stack) -> None:
    """Out-of-order deliveries converge: after writes at t1, t3 (same content) and then a late one at t2,
    the record holds what was written at t3."""
    base = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)
    t1, t2, t3 = (ts(base + dt.timedelta(minutes=m)) for m in (1, 2, 3))
    await ok(stack, "ReplaceRecords", "items", [rec("a", {"v": 1}, name="A", timestamp=t1)])
    same = await ok(stack, "ReplaceRecords", "items", [rec("a", {"v": 1}, name="A", timestamp=t3)])
    assert counts(same, "items") == {"unchanged": 1}
    assert (await get(stack, "items", "a"))["a"].timestamp == t3

    late = await ok(stack, "ReplaceRecords", "items", [rec("a", {"v": 2}, name="late", timestamp=t2)])
    assert counts(late, "items") == {"unchanged": 1}
    stored = (await get(stack, "items", "a"))["a"]
    assert (stored.name, data(stored)) == ("A", {"v": 1})

    await ok(stack, "UpdateRecords", "items", [rec("a", name="A", timestamp=ts(base + dt.timedelta(minutes=5)))])
    late_update = await ok(stack, "UpdateRecords", "items", [rec("a", name="late", timestamp=ts(base))])
    assert counts(late_update, "items") == {"unchanged": 1}
    assert (await get(stack, "items", "a"))["a"].name == "A"


async def test_timestamps_far_in_the_past_order_like_any_other(stack) -> None:
    year = {y: ts(dt.datetime(y, 1, 1, tzinfo=dt.UTC)) for y in (500, 600, 1999)}
    await ok(stack, "ReplaceRecords", "items", [rec("a", name="500", timestamp=year[500])])
    newer = await ok(stack, "ReplaceRecords", "items", [rec("a", name="1999", timestamp=year[1999])])
    assert counts(newer, "items") == {"updated": 1}
    older = await ok(stack, "ReplaceRecords", "items", [rec("a", name="600", timestamp=year[600])])
    assert counts(older, "items") == {"unchanged": 1}
    await ok(stack, "ReplaceRecords", "items", [rec("b", name="600", timestamp=year[600])])
    assert [(r.name, r.timestamp) for r in await listed(stack, "items")] == [("1999", year[1999]), ("600", year[600])]


# ---- Concurrency -------------------------------------------------------------------------------------------------


async def test_writes_submitted_while_tasks_run_all_apply(stack) -> None:
    """Submissions commit while the worker applies earlier tasks; every task still applies (on SQLite a task
    that read before taking the write lock used to fail with 'database is locked')."""

    async def one(i: int) -> int:
        records = [rec(f"r{j}", name=f"write {i}") for j in range(20)]
        return await submit(stack, "ReplaceRecords", "items", records, section=f"S{i % 6}")

    task_ids: list[int] = []
    for wave in range(3):
        task_ids += await asyncio.gather(*(one(i) for i in range(wave * 12, wave * 12 + 12)))
    tasks = [await wait_task(stack, task_id) for task_id in task_ids]
    assert [t.error.message for t in tasks if t.status != DONE] == []
    for section in range(6):
        response = await stack.catalog.ListRecords(
            catalog_pb2.ListRecordsRequest(section=f"S{section}", collection="items"), metadata=stack.metadata()
        )
        # FIFO per catalog: the last task submitted to a section (the highest id) wins.
        last = max((task_id, i) for i, task_id in enumerate(task_ids) if i % 6 == section)[1]
        assert {r.name for r in response.records} == {f"write {last}"}


# ---- Contexts ----------------------------------------------------------------------------------------------------


async def test_the_same_id_in_another_context_is_another_record(stack) -> None:
    task = await ok(
        stack, "ReplaceRecords", "items", [rec("a", name="default"), rec("a", name="store 1", context="store-1")]
    )
    assert counts(task, "items") == {"created": 2}
    assert (await get(stack, "items", "a"))["a"].name == "default"
    scoped = (await get(stack, "items", "a", context="store-1"))["a"]
    assert (scoped.name, scoped.context) == ("store 1", "store-1")
    assert await get(stack, "items", "a", context="store-2") == {}
    assert sorted((r.id, r.context) for r in await listed(stack, "items")) == [("a", ""), ("a", "store-1")]

    updated = await ok(stack, "UpdateRecords", "items", [rec("a", name="store 1 bis", context="store-1")])
    assert counts(updated, "items") == {"updated": 1}
    assert (await get(stack, "items", "a"))["a"].name == "default"
    missing = await write(stack, "UpdateRecords", "items", [rec("a", name="x", context="store-2")])
    assert (missing.status, missing.error.record_id) == (FAILED, "a")

    deleted = await ok(stack, "DeleteRecords", "items", [rec("a", context="store-1")])
    assert counts(deleted, "items") == {"deleted": 1}
    assert [(r.id, r.context, r.name) for r in await listed(stack, "items")] == [("a", "", "default")]


async def test_a_variation_in_a_context_needs_its_item_in_that_context(stack) -> None:
    await ok(stack, "ReplaceRecords", "items", [rec("p", context="store-1")])
    failed = await write(stack, "ReplaceRecords", "variations", [rec("v", item_id="p")])
    assert (failed.status, failed.error.reason) == (FAILED, "MISSING_PARENT_ITEM")
    await ok(stack, "ReplaceRecords", "variations", [rec("v", item_id="p", context="store-1")])
    assert (await get(stack, "variations", "v", context="store-1"))["v"].item_id == "p"


# ---- Validation: answered at once, nothing queued ----------------------------------------------------------------


TOO_LONG = "x" * 1025
INVALID = [
    # (method, collection, records, expected field violations)
    ("ReplaceRecords", "items", [rec(" ")], ["records[0].id"]),
    ("ReplaceRecords", "items", [rec("")], ["records[0].id"]),
    ("ReplaceRecords", "items", [rec("ok"), rec(TOO_LONG)], ["records[1].id"]),
    ("ReplaceRecords", "items", [rec("ok"), rec(" "), rec("ok2"), rec(TOO_LONG)], ["records[1].id", "records[3].id"]),
    ("ReplaceRecords", "items", [record_pb2.Record(id="a", data_json="{not json")], ["records[0].data"]),
    ("ReplaceRecords", "items", [record_pb2.Record(id="a", data_json="[1, 2]")], ["records[0].data"]),
    ("ReplaceRecords", "items", [record_pb2.Record(id="a", data_json='"text"')], ["records[0].data"]),
    ("ReplaceRecords", "variations", [rec("v", item_id="p"), rec("w")], ["records[1].item_id"]),
    ("ReplaceRecords", "items", [rec("a", parent_ids=["g"])], ["records[0].parent_ids"]),
    ("ReplaceRecords", "items", [rec("a", item_id="p")], ["records[0].item_id"]),
    ("ReplaceRecords", "items", [rec("a", kind=record_pb2.RECORD_KIND_VARIATION)], ["records[0].kind"]),
    ("ReplaceRecords", "items", [rec("a", timestamp=Timestamp(seconds=-(10**13)))], ["records[0].timestamp"]),
    ("ReplaceRecords", "items", [rec("a", timestamp=Timestamp(seconds=253402300800))], ["records[0].timestamp"]),
    ("ReplaceRecords", "items", [rec("a", suggested_score=float("nan"))], ["records[0].suggested_score"]),
    ("ReplaceRecords", "items", [rec("a\x00b"), rec("c", name="x\x00")], ["records[0].id", "records[1].name"]),
    ("ReplaceRecords", "items", [record_pb2.Record(id="a", data_json='{"k": ["\\u0000"]}')], ["records[0].data.k[0]"]),
    ("ReplaceRecords", "item_groups", [rec("g", parent_ids=["ok", "\x00"])], ["records[0].parent_ids[1]"]),
    ("ReplaceRecords", "items", [], ["records"]),
    ("ReplaceRecords", "widgets", [rec("a")], ["collection"]),
    ("ReplaceRecords", "", [rec("a")], ["collection"]),
    ("UpdateRecords", "items", [rec("a"), rec("  ")], ["records[1].id"]),
    ("UpdateRecords", "items", [record_pb2.Record(id="a", data_json="nope")], ["records[0].data"]),
    ("UpdateRecords", "item_groups", [], ["records"]),
    ("DeleteRecords", "items", [rec(TOO_LONG)], ["records[0].id"]),
    ("DeleteRecords", "variations", [rec("")], ["records[0].id"]),
]


async def test_invalid_writes_are_answered_at_once_with_field_violations(stack) -> None:
    for method, collection, records, expected in INVALID:
        case = f"{method} {collection} {[r.id[:8] for r in records]}"
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await submit(stack, method, collection, records)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, case
        fields, _reason = error_details(error.value)
        assert fields == expected, case
    # A variation update may leave item_id out (it is kept), so that is no error.
    await ok(stack, "UpdateRecords", "variations", [rec("v")], on_missing=IGNORE)
    tasks = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(), metadata=stack.metadata())
    assert tasks.total_count == 1, "no invalid call queued a task"


async def test_more_records_than_max_records_per_call_is_rejected(stack) -> None:
    limit = stack.settings.max_records_per_call
    assert limit == 1000
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await submit(stack, "ReplaceRecords", "items", [rec(f"r{i}") for i in range(limit + 1)])
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error.value) == (["records"], "TOO_MANY_RECORDS")
    assert "1000" in error.value.details()

    task = await ok(stack, "ReplaceRecords", "items", [rec(f"r{i:04d}") for i in range(limit)])
    assert counts(task, "items") == {"created": limit}
    page = await stack.catalog.ListRecords(
        catalog_pb2.ListRecordsRequest(collection="items", num_results_per_page=1), metadata=stack.metadata()
    )
    assert page.total_count == limit


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_max_records_per_call_is_configuration(database_url) -> None:
    async with start_stack(database_url, gateway=False, max_records_per_call=3) as stack:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await submit(stack, "DeleteRecords", "items", [rec(i) for i in "abcd"])
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_details(error.value) == (["records"], "TOO_MANY_RECORDS")
        assert counts(await ok(stack, "ReplaceRecords", "items", [rec(i) for i in "abc"]), "items") == {"created": 3}
