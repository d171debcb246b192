"""Record versions at the store level, both backends alike (issue 15): every write statement of replace,
merge and sync adds one to a record it changes and leaves a record it does not change alone; the
precondition helpers read versions and drop staged operations the same way."""

from __future__ import annotations

import pytest

from service.domain import record_versions as preconditions
from service.errors import TaskFailed
from service.store.record_versions import current_versions
from tests.contract.conftest import ITEM, Catalog, op


async def versions(catalog: Catalog) -> dict[str, int]:
    async with catalog.engine.connect() as conn:
        found = await current_versions(conn, catalog.version_id, ITEM, [("a", ""), ("b", ""), ("c", "")])
    return {record_id: version for (record_id, _), version in found.items()}


async def test_each_change_adds_one_and_a_no_op_nothing(catalog: Catalog) -> None:
    await catalog.write("replace", [op("a", name="A"), op("b", name="B")])
    assert await versions(catalog) == {"a": 1, "b": 1}
    await catalog.write("replace", [op("a", name="A", ts=1), op("b", name="B2", ts=1)])
    assert await versions(catalog) == {"a": 1, "b": 2}
    await catalog.write("merge", [op("a", data={"x": 1}, ts=2), op("b", name="B2", ts=2)], "FAIL")
    assert await versions(catalog) == {"a": 2, "b": 2}
    await catalog.write("replace", [op("a", name="old", ts=0)])  # older than the record: ignored
    assert await versions(catalog) == {"a": 2, "b": 2}
    await catalog.write("sync", [op("a", data={"x": 1}, ts=3), op("c", ts=3)], [ITEM], True)
    assert await versions(catalog) == {"a": 3, "c": 1}  # a lost its name; b deleted; c created
    await catalog.write("merge", [op("a", name="n", ts=4), op("a", name="m", ts=5)], "FAIL")
    assert (await versions(catalog))["a"] == 5  # two changes in one task


@pytest.mark.parametrize("skip", [False, True])
async def test_preconditions_fail_the_task_or_drop_the_operations(catalog: Catalog, skip: bool) -> None:
    await catalog.write("replace", [op("a"), op("b", name="B")])
    await catalog.write("replace", [op("b", name="B2", ts=1)])
    staged = [op("a", name="A", ts=2), op("b", name="B3", ts=2), op("c", ts=2)]
    expected = [
        preconditions.Precondition(0, "a", "", 1),
        preconditions.Precondition(1, "b", "", 1),
        preconditions.Precondition(2, "c", "", -1),
    ]
    if not skip:
        with pytest.raises(TaskFailed) as raised:
            async with catalog.task() as (conn, store):
                await store.stage([r._replace(seq=n) for n, r in enumerate(staged)])
                await preconditions.enforce(conn, catalog.version_id, ITEM, expected, skip=False)
        assert raised.value.reason == "VERSION_MISMATCH"
        assert raised.value.as_dict()["version_conflicts"] == [
            {"record_id": "b", "context": "", "expected_version": 1, "current_version": 2},
            {"record_id": "c", "context": "", "expected_version": -1, "current_version": 0},
        ]
        assert await versions(catalog) == {"a": 1, "b": 2}
        return
    async with catalog.task() as (conn, store):
        await store.stage([r._replace(seq=n) for n, r in enumerate(staged)])
        conflicts = await preconditions.enforce(conn, catalog.version_id, ITEM, expected, skip=True)
        counts = await store.replace()
        preconditions.add_skipped_conflicts(counts, ITEM, conflicts)
    assert counts["items"]["updated"] == 1 and counts["items"]["rejected"] == 2
    assert counts["skipped_record_ids"] == ["b", "c"]
    assert await versions(catalog) == {"a": 2, "b": 2}
    assert (await catalog.read())["b"]["name"] == "B2"
