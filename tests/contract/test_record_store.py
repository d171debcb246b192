"""RecordStore conformance: the same cases against the PostgreSQL and the SQLite store (service.store.ports), at
the store level, as pgqueuer's test_port_conformance.py runs one suite over every adapter. Each expected value
is written once, for both: a divergence between the backends is a failing test.

(tests/test_contract.py is another contract: the protos and their generated code.)
"""

from __future__ import annotations

import math

import pytest

from service.domain.records import row_to_proto
from service.errors import TaskFailed
from service.store.links import LinkRules, enforce_links
from service.store.record_reads import list_records
from service.store.staged import DuplicateRecord
from tests.contract.conftest import GROUP, ITEM, VARIATION, Catalog, at, op

DELETED_ITEMS = "SELECT record_id, context FROM stage_records WHERE kind = 1"


def counts(kind: str = "items", **given: int) -> dict[str, int]:
    return {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0, "rejected": 0, **given}


async def test_replace_creates_updates_and_leaves_unchanged(catalog: Catalog) -> None:
    first = await catalog.write("replace", [op("a", name="A", data={"x": 1}), op("b", name="B")])
    assert first["items"] == counts(created=2)
    again = await catalog.write("replace", [op("a", name="A", data={"x": 1}, ts=1), op("b", name="B2", ts=1)])
    assert again["items"] == counts(updated=1, unchanged=1)
    assert await catalog.read() == {
        "a": {"name": "A", "data": {"x": 1}, "ts": at(1)},
        "b": {"name": "B2", "data": {}, "ts": at(1)},
    }


async def test_replace_drops_what_the_new_record_does_not_give(catalog: Catalog) -> None:
    await catalog.write("replace", [op("a", name="A", suggested_score=2.5, data={"x": 1, "y": 2})])
    await catalog.write("replace", [op("a", data={"y": 3}, ts=1)])
    assert await catalog.read() == {"a": {"data": {"y": 3}, "ts": at(1)}}


async def test_replace_last_operation_of_a_task_wins(catalog: Catalog) -> None:
    result = await catalog.write("replace", [op("a", name="first"), op("a", name="second"), op("a", name="third")])
    assert result["items"] == counts(created=1)
    assert (await catalog.read())["a"]["name"] == "third"


async def test_replace_without_dedupe_names_the_duplicate(catalog: Catalog) -> None:
    rows = [op("a"), op("b"), op("a")]
    with pytest.raises(DuplicateRecord) as raised:
        await catalog.write("replace", rows, dedupe=False)
    assert raised.value.reason == "DUPLICATE_ID"
    assert raised.value.as_dict()["record_id"] == "a"
    assert await catalog.read() == {}


async def test_an_older_write_changes_nothing(catalog: Catalog) -> None:
    await catalog.write("replace", [op("a", name="new", ts=10)])
    late = await catalog.write("replace", [op("a", name="old", ts=5)])
    assert late["items"] == counts(unchanged=1)
    gone = await catalog.write("delete", [op("a", ts=5)])
    assert gone["items"] == counts(unchanged=1)
    assert await catalog.read() == {"a": {"name": "new", "data": {}, "ts": at(10)}}


async def test_a_newer_write_that_changes_nothing_still_moves_the_timestamp(catalog: Catalog) -> None:
    """Out-of-order deliveries converge: after the unchanged write at 20, a write from 15 is older."""
    await catalog.write("replace", [op("a", name="A", ts=10)])
    assert (await catalog.write("replace", [op("a", name="A", ts=20)]))["items"] == counts(unchanged=1)
    await catalog.write("replace", [op("a", name="late", ts=15)])
    assert await catalog.read() == {"a": {"name": "A", "data": {}, "ts": at(20)}}


async def test_merge_changes_only_the_given_fields(catalog: Catalog) -> None:
    await catalog.write("replace", [op("a", name="A", suggested_score=1.5, data={"brand": "Acme", "tags": ["x"]})])
    result = await catalog.write("merge", [op("a", data={"tags": ["y"], "new": True}, ts=1)], "FAIL")
    assert result["items"] == counts(updated=1)
    assert await catalog.read() == {
        "a": {"name": "A", "suggested_score": 1.5, "data": {"brand": "Acme", "tags": ["y"], "new": True}, "ts": at(1)}
    }


async def test_merge_nulls_remove_properties_and_facets(catalog: Catalog) -> None:
    """R8: a null in a partial update removes the property; facets merge per facet, a null facet goes."""
    data = {"brand": "Acme", "url": "/a", "facets": {"color": ["blue"], "size": ["M"], "fit": ["slim"]}}
    await catalog.write("replace", [op("a", data=data)])
    patch = {"brand": None, "facets": {"color": ["red"], "size": None}, "absent": None}
    await catalog.write("merge", [op("a", data=patch, ts=1)], "FAIL")
    assert (await catalog.read())["a"]["data"] == {"url": "/a", "facets": {"color": ["red"], "fit": ["slim"]}}


async def test_merge_null_fields_clear_them(catalog: Catalog) -> None:
    await catalog.write("replace", [op("a", name="A", suggested_score=3.0, data={"x": 1})])
    await catalog.write("merge", [op("a", name=None, suggested_score=None, ts=1)], "FAIL")
    assert await catalog.read() == {"a": {"data": {"x": 1}, "ts": at(1)}}


async def test_merge_operations_on_one_record_apply_in_order(catalog: Catalog) -> None:
    await catalog.write("replace", [op("a", data={"n": 0})])
    ops = [op("a", data={"n": 1, "first": 1}, ts=1), op("a", data={"n": 2}, ts=2), op("a", data={"first": None}, ts=3)]
    result = await catalog.write("merge", ops, "FAIL")
    assert result["items"] == counts(updated=3)
    assert await catalog.read() == {"a": {"data": {"n": 2}, "ts": at(3)}}


async def test_merge_on_missing_fail_names_the_record_and_changes_nothing(catalog: Catalog) -> None:
    await catalog.write("replace", [op("a", name="A")])
    with pytest.raises(TaskFailed) as raised:
        await catalog.write("merge", [op("a", name="A2", ts=1), op("ghost", name="G", ts=1)], "FAIL")
    assert raised.value.reason == "RECORD_NOT_FOUND"
    assert raised.value.as_dict()["record_id"] == "ghost"
    assert (await catalog.read())["a"]["name"] == "A"


async def test_merge_on_missing_ignore_skips_and_names(catalog: Catalog) -> None:
    await catalog.write("replace", [op("a", name="A")])
    result = await catalog.write("merge", [op("ghost", name="G", ts=1), op("a", name="A2", ts=1)], "IGNORE")
    assert result["items"] == counts(updated=1, rejected=1)
    assert result["skipped_record_ids"] == ["ghost"]
    assert set(await catalog.read()) == {"a"}


async def test_merge_on_missing_create_creates_without_nulls(catalog: Catalog) -> None:
    result = await catalog.write("merge", [op("new", name="N", data={"keep": 1, "drop": None})], "CREATE")
    assert result["items"] == counts(created=1)
    assert await catalog.read() == {"new": {"name": "N", "data": {"keep": 1}, "ts": at(0)}}


async def test_delete_counts_deleted_and_unchanged(catalog: Catalog) -> None:
    await catalog.write("replace", [op("a"), op("b"), op("c")])
    result = await catalog.write("delete", [op("a", ts=1), op("a", ts=1), op("missing", ts=1), op("c", ts=1)])
    assert result["items"] == counts(deleted=2, unchanged=1)
    assert set(await catalog.read()) == {"b"}


async def test_sync_makes_the_kind_exactly_the_staged_records(catalog: Catalog) -> None:
    await catalog.write("replace", [op(i) for i in "abcd"])
    result = await catalog.write("sync", [op("a", ts=1), op("b", name="B", ts=1), op("e", ts=1)], [ITEM], False)
    assert result["items"] == counts(created=1, updated=1, deleted=2, unchanged=1)
    assert set(await catalog.read()) == {"a", "b", "e"}


@pytest.mark.parametrize(("kept", "refused"), [("a", True), ("ab", False), ("abc", False)])
async def test_sync_refuses_to_delete_more_than_half(catalog: Catalog, kept: str, refused: bool) -> None:
    """The documented guard: deleting 3 of 4 fails, 2 of 4 (exactly half) passes; a refused sync changes nothing."""
    await catalog.write("replace", [op(i) for i in "abcd"])
    if refused:
        with pytest.raises(TaskFailed) as raised:
            await catalog.write("sync", [op(i, ts=1) for i in kept], [ITEM], False)
        assert raised.value.reason == "SAFETY_THRESHOLD"
        assert "would delete 3 of the 4 existing items (75%)" in raised.value.message
        assert set(await catalog.read()) == set("abcd")
    else:
        result = await catalog.write("sync", [op(i, ts=1) for i in kept], [ITEM], False)
        assert result["items"]["deleted"] == 4 - len(kept)
        assert set(await catalog.read()) == set(kept)


async def test_sync_with_force_deletes_everything_missing(catalog: Catalog) -> None:
    await catalog.write("replace", [op(i) for i in "abcd"])
    result = await catalog.write("sync", [op("a", ts=1)], [ITEM], True)
    assert result["items"]["deleted"] == 3
    assert set(await catalog.read()) == {"a"}


async def test_sync_keeps_a_missing_record_written_after_it(catalog: Catalog) -> None:
    await catalog.write("replace", [op("a", ts=0), op("b", ts=0), op("newer", ts=50)])
    result = await catalog.write("sync", [op("a", ts=10), op("b", ts=10)], [ITEM], False, as_of=at(10))
    assert result["items"]["deleted"] == 0
    assert set(await catalog.read()) == {"a", "b", "newer"}


async def test_a_sync_is_the_last_write_of_the_records_it_leaves_unchanged(catalog: Catalog) -> None:
    """R3 through the kind's sync mark (service.store.sync_marks): the sync does not rewrite an unchanged record,
    yet reads it back with the sync's time and ignores every later write older than the sync."""
    await catalog.write("replace", [op("a", name="A", ts=0), op("b", name="B", ts=0), op("g", GROUP, ts=0)])
    result = await catalog.write(
        "sync", [op("a", name="A", ts=10), op("b", name="B2", ts=10)], [ITEM], False, as_of=at(10)
    )
    assert result["items"] == counts(updated=1, unchanged=1)
    assert await catalog.read() == {
        "a": {"name": "A", "data": {}, "ts": at(10)},
        "b": {"name": "B2", "data": {}, "ts": at(10)},
    }
    assert (await catalog.write("replace", [op("a", name="late", ts=5)]))["items"] == counts(unchanged=1)
    assert (await catalog.write("merge", [op("a", name="late", ts=5)], "FAIL"))["items"] == counts(unchanged=1)
    assert (await catalog.write("delete", [op("a", ts=5)]))["items"] == counts(unchanged=1)
    # Another kind is not covered by the items' sync.
    assert (await catalog.write("replace", [op("g", GROUP, name="G", ts=5)]))["item_groups"] == counts(updated=1)
    assert (await catalog.write("replace", [op("a", name="newer", ts=11)]))["items"] == counts(updated=1)
    assert (await catalog.read())["a"] == {"name": "newer", "data": {}, "ts": at(11)}


async def test_a_record_created_after_a_sync_keeps_its_own_older_time(catalog: Catalog) -> None:
    """Created after the sync with an older timestamp: the sync did not cover it, until the next sync does."""
    await catalog.write("sync", [op("a", ts=10)], [ITEM], False, as_of=at(10))
    await catalog.write("replace", [op("late", name="L", ts=3)])
    assert (await catalog.read())["late"]["ts"] == at(3)
    assert (await catalog.write("merge", [op("late", name="L2", ts=5)], "FAIL"))["items"] == counts(updated=1)
    again = await catalog.write("sync", [op("a", ts=20), op("late", name="L2", ts=20)], [ITEM], False, as_of=at(20))
    assert again["items"] == counts(unchanged=2)
    assert (await catalog.read())["late"] == {"name": "L2", "data": {}, "ts": at(20)}
    assert (await catalog.write("replace", [op("late", name="L3", ts=15)]))["items"] == counts(unchanged=1)
    # A missing record covered by the sync is deleted; one written after the sync's time is kept.
    await catalog.write("replace", [op("after", ts=30)])
    gone = await catalog.write("sync", [op("a", ts=25)], [ITEM], True, as_of=at(25))
    assert gone["items"] == counts(deleted=1, unchanged=1)
    assert set(await catalog.read()) == {"a", "after"}


async def test_sync_into_an_empty_catalog_and_a_declared_empty_kind(catalog: Catalog) -> None:
    result = await catalog.write("sync", [op("a"), op("b")], [ITEM, GROUP], False)
    assert result["items"] == counts(created=2)
    assert result["item_groups"] == counts()
    assert set(await catalog.read()) == {"a", "b"}


async def test_variations_need_their_item(catalog: Catalog) -> None:
    await catalog.write("replace", [op("shirt")])
    async with catalog.task() as (_conn, store):
        await store.stage([op("shirt-m", VARIATION, item_id="shirt")])
        await store.replace()
        await store.check_parents()
    assert (await catalog.read(VARIATION))["shirt-m"]["item_id"] == "shirt"
    with pytest.raises(TaskFailed) as raised:
        async with catalog.task() as (_conn, store):
            await store.stage([op("sock-m", VARIATION, item_id="sock", ts=1)])
            await store.replace()
            await store.check_parents()
    assert raised.value.reason == "MISSING_PARENT_ITEM"
    assert raised.value.as_dict()["record_id"] == "sock-m"
    assert set(await catalog.read(VARIATION)) == {"shirt-m"}


async def test_a_skipped_variation_is_not_checked_for_its_item(catalog: Catalog) -> None:
    """A merge that skips a missing variation (IGNORE) wrote nothing: the item it names need not exist. Found by
    tests/model on PostgreSQL, whose parent check read the staged rows rather than the records written."""
    async with catalog.task() as (_conn, store):
        await store.stage([op("v1", VARIATION, item_id="a")])
        result = await store.merge("IGNORE")
        await store.check_parents()
    assert result["variations"] == counts(rejected=1)
    assert result["skipped_record_ids"] == ["v1"]
    assert await catalog.read(VARIATION) == {}


async def test_an_ignored_older_variation_write_is_not_checked(catalog: Catalog) -> None:
    """A write older than the variation changes nothing: its stored item is what must exist."""
    await catalog.write("replace", [op("shirt")])
    await catalog.write("replace", [op("shirt-m", VARIATION, item_id="shirt", ts=10)])
    async with catalog.task() as (_conn, store):
        await store.stage([op("shirt-m", VARIATION, item_id="gone", ts=5)])
        result = await store.replace()
        await store.check_parents()
    assert result["variations"] == counts(unchanged=1)
    assert (await catalog.read(VARIATION))["shirt-m"]["item_id"] == "shirt"


async def test_deleting_an_item_deletes_its_variations(catalog: Catalog) -> None:
    await catalog.write("replace", [op("shirt"), op("sock")])
    await catalog.write("replace", [op("shirt-m", VARIATION, item_id="shirt"), op("sock-m", VARIATION, item_id="sock")])
    async with catalog.task() as (conn, store):
        await store.stage([op("shirt", ts=1)])
        result = await store.delete()
        await enforce_links(conn, store.version_id, result, DELETED_ITEMS)
    assert result["items"]["deleted"] == 1
    assert result["variations"]["deleted"] == 1
    assert set(await catalog.read(VARIATION)) == {"sock-m"}


async def test_links_to_missing_groups_fail_the_task(catalog: Catalog) -> None:
    await catalog.write("replace", [op("tops", GROUP)])
    with pytest.raises(TaskFailed) as raised:
        async with catalog.task() as (conn, store):
            await store.stage([op("a", data={"group_ids": ["tops"]}), op("b", seq=1, data={"group_ids": ["nope"]})])
            result = await store.replace()
            await enforce_links(conn, store.version_id, result, DELETED_ITEMS)
    assert raised.value.reason == "MISSING_GROUP"
    assert raised.value.as_dict()["record_id"] == "b"
    assert await catalog.read() == {}


async def test_a_group_cycle_fails_the_task(catalog: Catalog) -> None:
    await catalog.write("replace", [op("a", GROUP), op("b", GROUP, parent_ids=["a"])])
    with pytest.raises(TaskFailed) as raised:
        async with catalog.task() as (conn, store):
            await store.stage([op("a", GROUP, parent_ids=["b"], ts=1)])
            result = await store.replace()
            await enforce_links(conn, store.version_id, result, DELETED_ITEMS)
    assert raised.value.reason == "GROUP_CYCLE"
    assert (await catalog.read(GROUP))["a"].get("parent_ids") is None


async def test_deleting_a_linked_group_fails_the_task(catalog: Catalog) -> None:
    await catalog.write("replace", [op("tops", GROUP)])
    await catalog.write("replace", [op("a", data={"group_ids": ["tops"]})])
    with pytest.raises(TaskFailed) as raised:
        async with catalog.task() as (conn, store):
            await store.stage([op("tops", GROUP, ts=1)])
            result = await store.delete()
            await enforce_links(conn, store.version_id, result, DELETED_ITEMS)
    assert raised.value.reason == "MISSING_GROUP"
    assert set(await catalog.read(GROUP)) == {"tops"}


async def test_per_item_writes_drop_items_with_dangling_groups(catalog: Catalog) -> None:
    await catalog.write("replace", [op("tops", GROUP)])
    async with catalog.task() as (conn, store):
        await store.stage([op("ok", data={"group_ids": ["tops"]}), op("bad", seq=1, data={"group_ids": ["x", "y"]})])
        dropped = await LinkRules(conn, store.version_id).reject_dangling_items()
        result = await store.replace()
    assert dropped == (1, ["bad"])
    assert result["items"] == counts(created=1)
    assert set(await catalog.read()) == {"ok"}


UNICODE_IDS = ["b", "B", "a", "A", "é", "e", "10", "9", "ß", "日本", "😀", "a b", "a-b", "a_b", "Z"]


async def test_unicode_ids_round_trip_and_list_in_code_point_order(catalog: Catalog) -> None:
    """Listing (and its page tokens) orders by id then context, in code point order on both backends."""
    records = [*(op(i, name=f"name of {i}") for i in UNICODE_IDS), op("a", context="ctx", name="name of a@ctx")]
    await catalog.write("replace", records)
    listed = [key for key, _ in await catalog.listing()]
    expected = [*UNICODE_IDS, "a@ctx"]
    expected.sort(key=lambda key: tuple(key.partition("@")[::2]))
    assert listed == expected
    assert all(record["name"] == f"name of {key}" for key, record in await catalog.listing())


async def test_numbers_read_back_as_sent(catalog: Catalog) -> None:
    """R5: what the value check lets through reads back equal on both backends (and -0.0 as 0.0)."""
    data = {
        "max": 2**63 - 1,
        "min": -(2**63),
        "integral_float": 1234567890123456768.0,
        "tiny": 1e-300,
        "tenth": 0.1,
        "negative_zero": -0.0,
        "beyond_double_precision": 2**53 + 1,
        "nested": [{"x": 1.5e15}, 12345678901234567, True, None],
    }
    await catalog.write("replace", [op("n", data=data, suggested_score=1e308)])
    stored = (await catalog.read())["n"]
    assert stored["data"] == data
    assert type(stored["data"]["integral_float"]) is float and type(stored["data"]["max"]) is int
    assert math.copysign(1, stored["data"]["negative_zero"]) == 1
    assert stored["suggested_score"] == 1e308


async def test_data_reads_back_as_the_same_text(catalog: Catalog) -> None:
    """PostgreSQL's jsonb orders keys by length, SQLite keeps the text: a read answers sorted keys on both."""
    data = {"url": "/a", "brand": "x", "a_long_key": {"z": 1, "b": [{"yy": 1, "x": 2}]}, "z": 2}
    await catalog.write("replace", [op("a", data=data)])
    async with catalog.engine.connect() as conn:
        _total, rows = await list_records(conn, catalog.version_id, ITEM, [], 10)
    assert row_to_proto(rows[0]).data_json == (
        '{"a_long_key":{"b":[{"x":2,"yy":1}],"z":1},"brand":"x","url":"/a","z":2}'
    )


async def test_text_round_trips(catalog: Catalog) -> None:
    """Every character but NUL (refused before any store: service.domain.values) reads back as sent."""
    text = "tab\there \x01\x1f \u2028 \u202e rtl 'quote' \"dq\" \\ 😀 日本 \ufeff"
    await catalog.write("replace", [op("t", name=text, data={text: [text]}, context="c\x7f")])
    assert (await catalog.read())["t@c\x7f"] == {"name": text, "data": {text: [text]}, "ts": at(0)}


async def test_existing_item_ids(catalog: Catalog) -> None:
    """The bulk API's existence check: items only, context '' only, across the SQLite IN-list chunks."""
    from service.db.backend import backend_of

    ids = [f"item-{n}" for n in range(1200)]
    await catalog.write("replace", [op(i) for i in ids[::2]] + [op("ctx-only", context="c"), op("g", GROUP)])
    asked = [*ids, "ctx-only", "g", "😀", *ids[:10]]
    async with catalog.engine.connect() as conn:
        found = await backend_of(conn).existing_item_ids(conn, catalog.version_id, list(dict.fromkeys(asked)))
    assert found == set(ids[::2])


async def test_existence_at_submission(catalog: Catalog) -> None:
    from service.db.engine import session_factory
    from service.domain.item_existence import existence_at_submission

    await catalog.write("replace", [op("a"), op("日本"), op("b", context="c")])
    async with session_factory(catalog.engine)() as session:
        existence = await existence_at_submission(session, catalog.catalog_id, ["a", "日本", "b", "zz", "a"])
    assert existence.existing == {"a", "日本"}
    assert not existence.deferred
    assert existence.known_missing("b") and existence.known_missing("zz")
