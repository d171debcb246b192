"""TaskService as a user sees it: get, list with filters and pages, cancel, watch."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from service.tasks.worker import Worker
from tests.conftest import start_stack
from tests.helpers import wait_task


def items(*ids: str) -> list[record_pb2.Record]:
    return [record_pb2.Record(id=i, name=f"Item {i}") for i in ids]


async def replace(stack, section: str, *ids: str, tenant: str = "acme") -> int:
    response = await stack.catalog.ReplaceRecords(
        catalog_pb2.ReplaceRecordsRequest(section=section, collection="items", records=items(*ids)),
        metadata=stack.metadata(tenant),
    )
    assert response.task_status_path == f"/v1/task/{response.task_id}"
    return response.task_id


async def test_a_task_reports_its_life_and_result(stack) -> None:
    task_id = await replace(stack, "Products", "a", "b")
    task = await wait_task(stack, task_id)
    assert task.status == task_pb2.TASK_STATUS_DONE, task
    assert (task.type, task.section, task.attempts) == ("records_replace", "Products", 1), task
    assert task.result.items.created == 2
    assert task.progress.records_applied == 2
    assert task.submission_time.ToDatetime() <= task.start_time.ToDatetime() <= task.finish_time.ToDatetime(), task


async def test_list_filters_and_pages(stack) -> None:
    before = Timestamp()
    before.FromDatetime(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    ids = [await replace(stack, "A" if i % 2 else "B", f"r{i}") for i in range(7)]
    for task_id in ids:
        await wait_task(stack, task_id)
    await stack.catalog.UpdateRecords(
        catalog_pb2.UpdateRecordsRequest(section="A", collection="items", records=items("missing")),
        metadata=stack.metadata(),
    )
    md = stack.metadata()

    everything = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(), metadata=md)
    assert everything.total_count == 8
    assert [t.id for t in everything.tasks] == sorted((t.id for t in everything.tasks), reverse=True)

    only_a = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(section="A"), metadata=md)
    assert {t.section for t in only_a.tasks} == {"A"} and only_a.total_count == 4

    updates = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(type="records_update"), metadata=md)
    assert updates.total_count == 1

    failed = await wait_task(stack, updates.tasks[0].id)
    assert failed.status == task_pb2.TASK_STATUS_FAILED and failed.error.record_id == "missing"
    by_status = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(status=task_pb2.TASK_STATUS_FAILED), metadata=md)
    assert [t.id for t in by_status.tasks] == [failed.id]
    assert by_status.status_counts["DONE"] == 7 and by_status.status_counts["FAILED"] == 1

    after = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(submitted_after=before), metadata=md)
    assert after.total_count == 8
    none_before = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(submitted_before=before), metadata=md)
    assert none_before.total_count == 0

    seen: list[int] = []
    token = ""
    while True:
        page = await stack.tasks.ListTasks(
            task_pb2.ListTasksRequest(num_results_per_page=3, page_token=token), metadata=md
        )
        seen += [t.id for t in page.tasks]
        token = page.next_page_token
        if not token:
            break
    assert seen == [t.id for t in everything.tasks]

    second = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(num_results_per_page=3, page=2), metadata=md)
    assert [t.id for t in second.tasks] == seen[3:6]

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stack.tasks.ListTasks(task_pb2.ListTasksRequest(page_token="garbage"), metadata=md)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_cancel_a_queued_task_and_it_never_runs(database_url) -> None:
    async with start_stack(database_url, worker=False, gateway=False) as stack:
        task_id = await replace(stack, "Products", "never")
        canceled = await stack.tasks.CancelTask(task_pb2.CancelTaskRequest(id=task_id), metadata=stack.metadata())
        assert canceled.task.status == task_pb2.TASK_STATUS_CANCELED
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stack.tasks.CancelTask(task_pb2.CancelTaskRequest(id=task_id), metadata=stack.metadata())
        assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "CANCELED" in error.value.details()
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stack.tasks.CancelTask(task_pb2.CancelTaskRequest(id=task_id), metadata=stack.metadata("globex"))
        assert error.value.code() == grpc.StatusCode.NOT_FOUND

        # A later task of the same catalog still runs: the canceled one does not block the catalog.
        later = await replace(stack, "Products", "later")
        stop = asyncio.Event()
        worker = asyncio.create_task(Worker(stack.engine, stack.settings).run(stop))
        try:
            assert (await wait_task(stack, later)).status == task_pb2.TASK_STATUS_DONE
        finally:
            stop.set()
            await worker
        listed = await stack.catalog.ListRecords(
            catalog_pb2.ListRecordsRequest(collection="items"), metadata=stack.metadata()
        )
        assert [r.id for r in listed.records] == ["later"]


async def test_watch_streams_status_and_progress_until_the_end(database_url) -> None:
    async with start_stack(database_url, worker=False, gateway=False, test_fault="apply_delay:0.8") as stack:
        task_id = await replace(stack, "Products", *[f"i{n}" for n in range(500)])
        updates: list[task_pb2.Task] = []
        first = asyncio.Event()

        async def watch() -> None:
            async for message in stack.tasks.WatchTask(
                task_pb2.WatchTaskRequest(id=task_id), metadata=stack.metadata()
            ):
                updates.append(message.task)
                first.set()

        watcher = asyncio.create_task(watch())
        # The worker starts once the watch has seen the task queued.
        await asyncio.wait_for(first.wait(), 10)
        stop = asyncio.Event()
        worker = asyncio.create_task(Worker(stack.engine, stack.settings).run(stop))
        try:
            await asyncio.wait_for(watcher, 30)
        finally:
            stop.set()
            await worker
    statuses = [u.status for u in updates]
    assert statuses[0] == task_pb2.TASK_STATUS_QUEUED
    assert task_pb2.TASK_STATUS_IN_PROGRESS in statuses
    assert statuses[-1] == task_pb2.TASK_STATUS_DONE
    assert statuses.index(task_pb2.TASK_STATUS_IN_PROGRESS) < statuses.index(task_pb2.TASK_STATUS_DONE)
    assert updates[-1].progress.records_applied == 500 and updates[-1].result.items.created == 500
    if stack.engine.dialect.name == "postgresql":
        # Progress is written while the task runs (SQLite's one writer reports it with the result).
        running = [u for u in updates if u.status == task_pb2.TASK_STATUS_IN_PROGRESS]
        assert any(u.progress.records_seen == 500 for u in running)


async def test_watch_of_another_tenants_task_is_not_found(stack) -> None:
    task_id = await replace(stack, "Products", "x")
    with pytest.raises(grpc.aio.AioRpcError) as error:
        async for _ in stack.tasks.WatchTask(task_pb2.WatchTaskRequest(id=task_id), metadata=stack.metadata("globex")):
            pass
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


async def test_fifo_per_catalog_in_one_process(stack) -> None:
    """Interleaved writes to one record from two catalogs: each catalog ends in its last write."""
    ids = []
    for n in range(10):
        for section in ("A", "B"):
            response = await stack.catalog.ReplaceRecords(
                catalog_pb2.ReplaceRecordsRequest(
                    section=section,
                    collection="items",
                    records=[record_pb2.Record(id="same", name=f"{section}{n}", data_json=f'{{"n": {n}}}')],
                ),
                metadata=stack.metadata(),
            )
            ids.append(response.task_id)
    tasks = [await wait_task(stack, i) for i in ids]
    for section in ("A", "B"):
        mine = [t for t in tasks if t.section == section]
        for earlier, later in itertools.pairwise(mine):
            assert earlier.finish_time.ToDatetime() <= later.start_time.ToDatetime()
        record = await stack.catalog.ListRecords(
            catalog_pb2.ListRecordsRequest(section=section, collection="items"), metadata=stack.metadata()
        )
        assert record.records[0].name == f"{section}9"
