"""Separate processes sharing one PostgreSQL: FIFO across workers, a killed worker, graceful shutdown."""

from __future__ import annotations

import asyncio
import itertools
import signal

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from service.tasks import queue
from tests.conftest import free_port, start_stack
from tests.helpers import eventually, wait_task
from tests.processes import spawn


async def live_workers(stack) -> int:
    async with stack.engine.connect() as conn:
        return await queue.live_workers(conn, stack.settings.worker_lease_timeout)


async def write(stack, section: str, name: str, *ids: str) -> int:
    response = await stack.catalog.ReplaceRecords(
        catalog_pb2.ReplaceRecordsRequest(
            section=section,
            collection="items",
            records=[record_pb2.Record(id=i, name=name) for i in ids],
        ),
        metadata=stack.metadata(),
    )
    return response.task_id


async def test_fifo_per_catalog_with_three_worker_processes(pg_url, processes) -> None:
    async with start_stack(pg_url, worker=False, gateway=False) as stack:
        for _ in range(3):
            spawn(processes, pg_url, "worker", test_fault="apply_delay:0.15")
        await eventually(lambda: live_workers(stack), lambda n: n == 3, timeout=30)

        submitted = []
        for n in range(10):
            for section in ("A", "B"):
                submitted.append(await write(stack, section, f"{section}{n}", "shared", f"{section}-{n}"))
        tasks = [await wait_task(stack, task_id, timeout=60) for task_id in submitted]

        assert {t.status for t in tasks} == {task_pb2.TASK_STATUS_DONE}
        for section in ("A", "B"):
            mine = sorted((t for t in tasks if t.section == section), key=lambda t: t.id)
            # One at a time, in submission order.
            for earlier, later in itertools.pairwise(mine):
                assert earlier.finish_time.ToDatetime() <= later.start_time.ToDatetime(), (earlier, later)
            listed = await stack.catalog.ListRecords(
                catalog_pb2.ListRecordsRequest(section=section, collection="items", id=["shared"]),
                metadata=stack.metadata(),
            )
            assert listed.records[0].name == f"{section}9"
        # The two catalogs' queues ran side by side on different workers.
        a = [t for t in tasks if t.section == "A"]
        b = [t for t in tasks if t.section == "B"]
        assert any(
            x.start_time.ToDatetime() < y.finish_time.ToDatetime()
            and y.start_time.ToDatetime() < x.finish_time.ToDatetime()
            for x in a
            for y in b
        )


async def test_a_killed_workers_task_is_rerun_once_by_another(pg_url, processes) -> None:
    async with start_stack(pg_url, worker=False, gateway=False) as stack:
        # The first worker applies the task, then holds its transaction open long enough to be killed.
        doomed = spawn(processes, pg_url, "worker", test_fault="apply_delay:60")
        await eventually(lambda: live_workers(stack), lambda n: n == 1, timeout=30)
        task_id = await write(stack, "Products", "v1", *[f"k{n}" for n in range(1000)])

        async def task() -> task_pb2.Task:
            return (await stack.tasks.GetTask(task_pb2.GetTaskRequest(id=task_id), metadata=stack.metadata())).task

        await eventually(
            task, lambda t: t.status == task_pb2.TASK_STATUS_IN_PROGRESS and t.progress.records_seen == 1000
        )
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)

        spawn(processes, pg_url, "worker")
        done = await wait_task(stack, task_id, timeout=60)
        assert done.status == task_pb2.TASK_STATUS_DONE
        assert done.attempts == 2
        # Created, not updated: the killed attempt's writes were rolled back, so it was applied exactly once.
        assert (done.result.items.created, done.result.items.updated) == (1000, 0)
        listed = await stack.catalog.ListRecords(
            catalog_pb2.ListRecordsRequest(collection="items", num_results_per_page=1), metadata=stack.metadata()
        )
        assert listed.total_count == 1000


async def test_sigterm_finishes_in_flight_work_and_exits(pg_url, processes) -> None:
    async with start_stack(pg_url, worker=False, gateway=False) as stack:
        grpc_port = free_port()
        server = spawn(processes, pg_url, "grpc", "worker", grpc_port=grpc_port, test_fault="apply_delay:1.5")
        await eventually(lambda: live_workers(stack), lambda n: n == 1, timeout=30)
        task_id = await write(stack, "Products", "v", "a", "b")

        async def status() -> int:
            response = await stack.tasks.GetTask(task_pb2.GetTaskRequest(id=task_id), metadata=stack.metadata())
            return response.task.status

        await eventually(status, lambda s: s == task_pb2.TASK_STATUS_IN_PROGRESS)
        server.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(server.wait, 30)
        assert code == 0, server.log_path.read_text()
        # The task in flight was finished within the grace period, and the worker signed off.
        assert (await wait_task(stack, task_id, timeout=5)).status == task_pb2.TASK_STATUS_DONE
        assert await live_workers(stack) == 0


async def test_sigterm_hands_unfinished_tasks_back_to_the_queue(pg_url, processes) -> None:
    async with start_stack(pg_url, worker=False, gateway=False) as stack:
        server = spawn(processes, pg_url, "worker", test_fault="apply_delay:60", shutdown_grace=0.5)
        await eventually(lambda: live_workers(stack), lambda n: n == 1, timeout=30)
        task_id = await write(stack, "Products", "v", "a")

        async def task() -> task_pb2.Task:
            return (await stack.tasks.GetTask(task_pb2.GetTaskRequest(id=task_id), metadata=stack.metadata())).task

        await eventually(task, lambda t: t.status == task_pb2.TASK_STATUS_IN_PROGRESS)
        server.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(server.wait, 30) == 0
        released = await task()
        assert released.status == task_pb2.TASK_STATUS_QUEUED and released.attempts == 1

        spawn(processes, pg_url, "worker")
        done = await wait_task(stack, task_id, timeout=30)
        assert done.status == task_pb2.TASK_STATUS_DONE and done.attempts == 2
