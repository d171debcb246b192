"""Issue 10 #5, #8, #12 (R7, R8): what a bulk partial update sees of the writes acknowledged before it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from catalogingest.v1 import task_pb2
from service.tasks.worker import Worker
from tests.conftest import Stack
from tests.test_bulk_items import ITEMS, OK, PARTIAL, applied, bulk_stack, define, failed, send, stored


@contextlib.asynccontextmanager
async def worker(stack: Stack) -> AsyncIterator[None]:
    stop = asyncio.Event()
    running = asyncio.create_task(Worker(stack.engine, stack.settings).run(stop))
    try:
        yield
    finally:
        stop.set()
        await running


async def test_a_partial_update_right_after_a_put_of_the_same_items_is_accepted(database_url) -> None:
    """The PUT is acknowledged but not applied yet (no worker): the partial update must not say
    "does not exist"; both apply in order."""
    async with bulk_stack(database_url, worker=False) as s:
        body = [{"item_id": f"i{n}", "properties": {"title": f"T{n}"}} for n in range(3)]
        _, put = await send(s, "PUT", ITEMS, body)
        results, update = await send(
            s, "POST", PARTIAL, [{"item_id": f"i{n}", "properties": {"price": n}} for n in range(3)]
        )
        assert results == [OK] * 3
        async with worker(s):
            await applied(s, put)
            task = await applied(s, update)
        assert task.result.items.updated == 3 and task.result.items.rejected == 0
        assert await stored(s) == {f"i{n}": {"title": f"T{n}", "price": n} for n in range(3)}


async def test_a_flow_of_puts_each_followed_by_its_partial_update_never_rejects(database_url, budget) -> None:
    """1,000-item PUTs each followed at once by a partial update of the same items, with a running worker."""
    async with bulk_stack(database_url) as s:
        tasks = []
        for start in range(0, 3000 * budget, 1000):
            ids = [f"p{n}" for n in range(start, start + 1000)]
            tasks.append((await send(s, "PUT", ITEMS, [{"item_id": i, "properties": {"title": i}} for i in ids]))[1])
            results, update = await send(s, "POST", PARTIAL, [{"item_id": i, "properties": {"price": 1}} for i in ids])
            assert results == [OK] * 1000, [r for r in results if r != OK][:3]
            tasks.append(update)
        for n, task_id in enumerate(tasks):
            task = await applied(s, task_id)
            assert (task.result.items.rejected, task.result.items.created + task.result.items.updated) == (0, 1000)
            if n % 2:
                assert task.type == "bulk_items_update"


async def test_with_nothing_ahead_a_missing_item_is_refused_at_once(database_url) -> None:
    async with bulk_stack(database_url) as s:
        results, _ = await send(s, "POST", PARTIAL, [{"item_id": "ghost", "properties": {"price": 1}}])
    assert results == [
        failed(item_id=["Item 'ghost' does not exist in catalog 'shop'; send upsert=true to create it."])
    ]


async def test_an_upsert_that_creates_an_item_needs_the_required_fields(database_url) -> None:
    async with bulk_stack(database_url) as s:
        await define(s, "req", [{"name": "sku", "type": "string", "required": True}, {"name": "n", "type": "number"}])
        path = "/data/v2/projects/acme/catalogs/req/items"
        await applied(s, (await send(s, "PUT", path, [{"item_id": "a", "properties": {"sku": "A"}}]))[1])
        body = [
            {"item_id": "a", "properties": {"n": 1}},  # exists: updated without its required field
            {"item_id": "b", "properties": {"n": 2}},  # created: refused, sku missing
            {"item_id": "c", "properties": {"sku": "C"}},  # created complete
        ]
        results, task_id = await send(s, "POST", path + "/partial-update", body, upsert="true")
        assert results == [
            OK,
            failed(properties=["Item 'b' does not exist and upsert creates it: Field 'sku' is required."]),
            OK,
        ]
        await applied(s, task_id)
        assert await stored(s, "req") == {"a": {"sku": "A", "n": 1}, "c": {"sku": "C"}}


async def test_an_upsert_deferred_to_apply_time_still_needs_the_required_fields(database_url) -> None:
    """With a task ahead (no worker yet), existence is decided when the task runs: the item is skipped there."""
    async with bulk_stack(database_url, worker=False) as s:
        await define(s, "req", [{"name": "sku", "type": "string", "required": True}, {"name": "n", "type": "number"}])
        path = "/data/v2/projects/acme/catalogs/req/items"
        _, put = await send(s, "PUT", path, [{"item_id": "a", "properties": {"sku": "A"}}])
        body = [{"item_id": "a", "properties": {"n": 1}}, {"item_id": "b", "properties": {"n": 2}}]
        results, update = await send(s, "POST", path + "/partial-update", body, upsert="true")
        assert results == [OK, OK]
        async with worker(s):
            await applied(s, put)
            task = await applied(s, update)
        assert (task.result.items.updated, task.result.items.created, task.result.items.rejected) == (1, 0, 1)
        assert list(task.result.skipped_record_ids) == ["b"]
        assert await stored(s, "req") == {"a": {"sku": "A", "n": 1}}


async def test_on_missing_ignore_counts_the_skipped_records_and_names_them(http_stack) -> None:
    s = http_stack
    put = await s.http.put("/v2/items", params={"section": "ig"}, json={"items": [{"id": "a"}]}, headers=s.auth())
    await applied(s, put.json()["task_id"])
    patch = await s.http.patch(
        "/v2/items",
        params={"section": "ig", "on_missing": "IGNORE"},
        json={"items": [{"id": "a", "data": {"x": 1}}, {"id": "gone", "data": {"x": 2}}]},
        headers=s.auth(),
    )
    assert patch.status_code == 200, patch.text
    task = await applied(s, patch.json()["task_id"])
    assert task.status == task_pb2.TASK_STATUS_DONE
    counts = task.result.items
    assert (counts.updated, counts.unchanged, counts.rejected) == (1, 0, 1)
    assert list(task.result.skipped_record_ids) == ["gone"]
