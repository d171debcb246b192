"""Waiting for what a user would wait for: poll with a deadline, never a fixed sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import text

from catalogingest.v1 import task_pb2

T = TypeVar("T")
FINISHED = {task_pb2.TASK_STATUS_DONE, task_pb2.TASK_STATUS_FAILED, task_pb2.TASK_STATUS_CANCELED}


async def eventually(probe: Callable[[], Awaitable[T]], until: Callable[[T], bool], timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(0.05)


async def wait_task(stack: Any, task_id: int, tenant: str = "acme", timeout: float = 20.0) -> task_pb2.Task:
    async def probe() -> task_pb2.Task:
        response = await stack.tasks.GetTask(task_pb2.GetTaskRequest(id=task_id), metadata=stack.metadata(tenant))
        return response.task

    return await eventually(probe, lambda t: t.status in FINISHED, timeout)


async def stream_is_storing(stack: Any) -> bool:
    """Whether an unfinished client stream has its PENDING task (what it stored is kept under it)."""
    async with stack.engine.connect() as conn:
        pending = await conn.execute(text("SELECT count(*) FROM tasks WHERE status = 'PENDING'"))
        return pending.scalar_one() > 0


def error_details(error: grpc.aio.AioRpcError) -> tuple[list[str], str]:
    """The BadRequest field names and the ErrorInfo reason of a google.rpc.Status error."""
    status = rpc_status.from_call(error)
    assert status is not None, "the error carries a google.rpc.Status"
    fields: list[str] = []
    reason = ""
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [v.field for v in bad.field_violations]
            assert all(v.description for v in bad.field_violations)
        elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
    return fields, reason
