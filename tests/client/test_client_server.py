"""The client library against the real server (both backends): uploads of the example files, streams,
waiting on WatchTask, the progress totals, reads back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from catalog_ingest_client import AsyncClient, Client, UploadMode, WaitTimeout
from catalogingest.v1 import task_pb2
from tests.conftest import Stack, start_stack

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FILES = {name: EXAMPLES / f"{name}.csv" for name in ("items", "variations", "item_groups")}


def target(stack: Stack) -> str:
    return f"127.0.0.1:{stack.settings.grpc_port}"


async def test_upload_of_the_example_files_ends_done_and_reads_back(stack: Stack) -> None:
    sent: list[int] = []
    async with AsyncClient(target(stack), stack.tokens["acme"]) as client:
        reply = await client.upload_catalog(**FILES, on_progress=lambda p: sent.append(p.bytes_sent))
        updates: list[task_pb2.Task] = []
        task = await client.wait(reply.task_id, timeout=30, on_update=updates.append)
        assert task.status == task_pb2.TASK_STATUS_DONE, task.error
        assert (task.result.items.created, task.result.variations.created, task.result.item_groups.created) == (4, 3, 4)
        total = sum(p.stat().st_size for p in FILES.values())
        assert sent[-1] == total and task.progress.bytes_total == total
        assert updates[-1] == task
        records = await client.get_records("variations", ["shirt-1-blue-m"])
        assert [(r.id, r.item_id, r.name) for r in records] == [("shirt-1-blue-m", "shirt-1", "Oxford Shirt (blue, M)")]
        listed = await client.list_records("items", page_size=2)
        assert [r.id for r in listed.records] == ["cap-1", "jeans-1"] and listed.total_count == 4


async def test_a_failing_file_fails_the_task_naming_the_row(stack: Stack) -> None:
    async with AsyncClient(target(stack), stack.tokens["acme"]) as client:
        reply = await client.upload_catalog("shop", items=EXAMPLES / "items_bad.csv", mode=UploadMode.DELTA)
        task = await client.wait(reply.task_id, timeout=30)
    assert task.status == task_pb2.TASK_STATUS_FAILED
    assert (task.error.file, task.error.row, task.error.column) == ("items.csv", 3, "suggested_score")


async def test_the_sync_client_streams_records_with_a_progress_total(stack: Stack) -> None:
    records = [{"id": f"item-{i:05}", "name": f"Item {i}", "data": {"n": i}} for i in range(2500)]

    def run() -> task_pb2.Task:
        with Client(target(stack), stack.tokens["acme"]) as client:
            reply = client.stream_records("items", records, section="bulk")
            assert reply.records_received == 2500
            return client.wait(reply.task_id, timeout=30)

    task = await asyncio.to_thread(run)
    assert task.status == task_pb2.TASK_STATUS_DONE
    assert (task.progress.records_total, task.progress.records_applied) == (2500, 2500)


async def test_json_writes_report_their_total(stack: Stack) -> None:
    async with AsyncClient(target(stack), stack.tokens["acme"]) as client:
        task_id = await client.replace_records("items", [{"id": "a"}, {"id": "b"}, {"id": "c"}])
        task = await client.wait(task_id, timeout=30)
        assert task.progress.records_total == 3 and task.status == task_pb2.TASK_STATUS_DONE
        deleted = await client.wait(await client.delete_records("items", ["a"]), timeout=30)
        assert deleted.result.items.deleted == 1


async def test_wait_times_out_on_a_task_no_worker_runs(database_url: str) -> None:
    async with start_stack(database_url, worker=False, gateway=False) as stack:
        async with AsyncClient(target(stack), stack.tokens["acme"]) as client:
            task_id = await client.replace_records("items", [{"id": "a"}])
            with pytest.raises(WaitTimeout):
                await client.wait(task_id, timeout=0.5)
            assert (await client.get_task(task_id)).status == task_pb2.TASK_STATUS_QUEUED
