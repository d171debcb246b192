"""A database restart or immediate stop under a running worker: every task is finished or re-run within the
lease, with no operator action; the health checks say when no worker can make progress, and recover."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from service.tasks.worker import Worker
from tests.conftest import start_stack
from tests.figures import record
from tests.helpers import eventually
from tests.pg_instance import PgInstance

LEASE = 3.0


async def write(stack, section: str, name: str) -> int:
    response = await stack.catalog.ReplaceRecords(
        catalog_pb2.ReplaceRecordsRequest(
            section=section, collection="items", records=[record_pb2.Record(id="shared", name=name)]
        ),
        metadata=stack.metadata(),
    )
    return response.task_id


async def task_status(stack, task_id: int) -> int | None:
    """The task's status, or None while the service cannot answer (the database is away)."""
    try:
        response = await stack.tasks.GetTask(task_pb2.GetTaskRequest(id=task_id), metadata=stack.metadata())
    except grpc.aio.AioRpcError:
        return None
    return response.task.status


async def reaches(stack, task_id: int, status: int, timeout: float = 20.0) -> None:
    await eventually(lambda: task_status(stack, task_id), lambda s: s == status, timeout=timeout)


async def ingestion_health(stack) -> int:
    health = health_pb2_grpc.HealthStub(stack.channel)
    return (await health.Check(health_pb2.HealthCheckRequest(service="ingestion"))).status


async def ingestion_status(stack) -> grpc.StatusCode:
    try:
        await stack.tasks.GetIngestionStatus(task_pb2.GetIngestionStatusRequest())
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize("mode", ["restart", "immediate"])
async def test_a_task_in_flight_is_finished_after_a_database_outage(
    postgres_instance: PgInstance, own_pg_url: str, mode: str, budget: int
) -> None:
    # A poll interval far beyond the test: only NOTIFY on a LISTEN connection made again wakes the worker.
    async with start_stack(
        own_pg_url,
        gateway=False,
        worker_poll_interval=60.0,
        worker_lease_timeout=LEASE,
        test_fault="apply_delay:1.0",
        health_check_interval_seconds=0.2,
    ) as stack:
        recoveries = []
        for round_ in range(budget):
            in_flight = await write(stack, "A", f"in flight {round_}")
            await reaches(stack, in_flight, task_pb2.TASK_STATUS_IN_PROGRESS)
            if mode == "restart":
                await asyncio.to_thread(postgres_instance.restart)
            else:
                await asyncio.to_thread(postgres_instance.stop, "immediate")
                # While the database is away, both health checks say the ingestion system cannot progress.
                assert await ingestion_status(stack) == grpc.StatusCode.UNAVAILABLE
                await eventually(
                    lambda: ingestion_health(stack), lambda s: s == health_pb2.HealthCheckResponse.NOT_SERVING
                )
                await asyncio.to_thread(postgres_instance.start)
            back = time.monotonic()
            # Finished (re-run) within the lease and the task's own time, with nobody's help.
            await reaches(stack, in_flight, task_pb2.TASK_STATUS_DONE, timeout=3 * LEASE + 10)
            recoveries.append(time.monotonic() - back)
            # The LISTEN connection is back: a new write is applied at once, not at the next poll.
            after = await write(stack, "B", f"after {round_}")
            await reaches(stack, after, task_pb2.TASK_STATUS_DONE, timeout=10)
            # And the health checks recovered on their own.
            assert await ingestion_status(stack) == grpc.StatusCode.OK
            await eventually(lambda: ingestion_health(stack), lambda s: s == health_pb2.HealthCheckResponse.SERVING)
        listed = await stack.catalog.ListRecords(
            catalog_pb2.ListRecordsRequest(section="A", collection="items"), metadata=stack.metadata()
        )
        assert [r.name for r in listed.records] == [f"in flight {budget - 1}"]
    record(
        f"fault database {mode} (in-process worker)",
        tried=budget,
        stuck=0,
        recovery_s=f"{max(recoveries):.1f}",
    )


async def test_a_worker_that_cannot_heartbeat_for_a_lease_stops_its_tasks(
    postgres_instance: PgInstance, own_pg_url: str
) -> None:
    """Its tasks' transactions died with the database: it stops them and takes a new id rather than finish them
    later under a stale lease, and the task is re-run."""
    async with start_stack(
        own_pg_url, worker=False, gateway=False, worker_lease_timeout=LEASE, test_fault="apply_delay:30.0"
    ) as stack:
        worker = Worker(stack.engine, stack.settings)
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        try:
            first_id = worker.id
            held = await write(stack, "A", "held")
            await reaches(stack, held, task_pb2.TASK_STATUS_IN_PROGRESS)
            await asyncio.to_thread(postgres_instance.stop, "immediate")
            # A lease of failed heartbeats later, the worker has given its lease (and its id) up.
            await eventually(lambda: asyncio.sleep(0.05, worker.id), lambda now: now != first_id, timeout=6 * LEASE)
            await asyncio.to_thread(postgres_instance.start)

            async def task() -> task_pb2.Task | None:
                try:
                    got = await stack.tasks.GetTask(task_pb2.GetTaskRequest(id=held), metadata=stack.metadata())
                except grpc.aio.AioRpcError:
                    return None
                return got.task

            # Re-run at once (not 30 s later, when the first attempt would have tried to finish).
            rerun = await eventually(task, lambda t: t is not None and t.attempts == 2, timeout=6 * LEASE + 10)
            assert rerun.status == task_pb2.TASK_STATUS_IN_PROGRESS
        finally:
            stop.set()
            await running
