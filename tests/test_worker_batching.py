"""Consecutive queued small writes of one catalog are applied in one transaction (service.tasks.worker._follow),
and each still keeps its own status, result and error: a failing one fails alone, the others apply in order."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
import time

from catalogingest.v1 import catalog_pb2, task_pb2
from service.tasks.worker import Worker
from tests.conftest import start_stack
from tests.helpers import wait_task
from tests.test_record_writes import counts, data, get, rec, submit

DONE, FAILED = task_pb2.TASK_STATUS_DONE, task_pb2.TASK_STATUS_FAILED
DELAY = 2.0  # the test fault holds each claimed task's transaction this long before it commits


async def _queue_five(stack) -> list[int]:
    """Five writes of one catalog, the third of which fails (an update of an item that does not exist)."""
    return [
        await submit(stack, "ReplaceRecords", "items", [rec("a", {"v": 1}, name="A"), rec("b", {"v": 1}, name="B")]),
        await submit(stack, "ReplaceRecords", "items", [rec("a", {"v": 2}, name="A")]),
        await submit(stack, "UpdateRecords", "items", [rec("a", {"v": 3}), rec("ghost", name="G")]),
        await submit(stack, "UpdateRecords", "items", [rec("b", {"v": 4})]),
        await submit(stack, "DeleteRecords", "items", [rec("a")]),
    ]


async def _run(stack, task_ids: list[int], batch: int) -> tuple[list[task_pb2.Task], float]:
    settings = dataclasses.replace(stack.settings, worker_batch_tasks=batch)
    stop = asyncio.Event()
    started = time.monotonic()
    worker = asyncio.create_task(Worker(stack.engine, settings).run(stop))
    try:
        tasks = [await wait_task(stack, task_id, timeout=60) for task_id in task_ids]
    finally:
        stop.set()
        await worker
    return tasks, time.monotonic() - started


def _time(stamp) -> dt.datetime:
    return stamp.ToDatetime()


async def test_queued_writes_share_a_transaction_and_each_keeps_its_outcome(database_url) -> None:
    async with start_stack(database_url, worker=False, gateway=False, test_fault=f"apply_delay:{DELAY}") as stack:
        task_ids = await _queue_five(stack)
        tasks, seconds = await _run(stack, task_ids, batch=16)
        assert [t.status for t in tasks] == [DONE, DONE, FAILED, DONE, DONE], [t.error for t in tasks]
        # Each its own result and error.
        assert counts(tasks[0], "items") == {"created": 2}
        assert counts(tasks[1], "items") == {"updated": 1}
        assert (tasks[2].error.reason, tasks[2].error.record_id) == ("RECORD_NOT_FOUND", "ghost")
        assert counts(tasks[3], "items") == {"updated": 1}
        assert counts(tasks[4], "items") == {"deleted": 1}
        # In order, one after the other: each started once the one before it finished.
        for before, after in itertools.pairwise(tasks):
            assert _time(after.start_time) >= _time(before.finish_time)
        # The failed update left nothing (not even its valid record `a`), the later ones applied.
        got = await get(stack, "items", "a", "b", "ghost")
        assert set(got) == {"b"} and data(got["b"]) == {"v": 4}
        # One transaction: the fault's delay was paid once, not five times.
        assert seconds < 3 * DELAY, seconds


async def test_one_task_a_transaction_when_batching_is_off(database_url) -> None:
    async with start_stack(database_url, worker=False, gateway=False, test_fault="apply_delay:0.5") as stack:
        task_ids = await _queue_five(stack)
        tasks, seconds = await _run(stack, task_ids, batch=0)
        assert [t.status for t in tasks] == [DONE, DONE, FAILED, DONE, DONE], [t.error for t in tasks]
        # Four delays at least (the failed task's transaction is rolled back before the fault).
        assert seconds >= 4 * 0.5
        got = await get(stack, "items", "a", "b")
        assert set(got) == {"b"} and data(got["b"]) == {"v": 4}


async def test_a_write_of_another_catalog_is_not_taken_into_the_transaction(database_url) -> None:
    async with start_stack(database_url, worker=False, gateway=False) as stack:
        first = await submit(stack, "ReplaceRecords", "items", [rec("a", name="A")])
        other = await stack.catalog.ReplaceRecords(
            catalog_pb2.ReplaceRecordsRequest(section="Other", collection="items", records=[rec("x", name="X")]),
            metadata=stack.metadata(),
        )
        tasks, _seconds = await _run(stack, [first, other.task_id], batch=16)
        assert [t.status for t in tasks] == [DONE, DONE]
        assert counts(tasks[1], "items") == {"created": 1}
