"""Hand-written servicers returning canned answers, and the rich gRPC errors a real server sends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import any_pb2, timestamp_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from catalogingest.v1 import (
    auth_pb2,
    auth_pb2_grpc,
    batch_pb2,
    batch_pb2_grpc,
    catalog_pb2,
    catalog_pb2_grpc,
    record_pb2,
    task_pb2,
    task_pb2_grpc,
)


@dataclass(frozen=True)
class GatewayTestSettings:
    grpc_target: str
    max_body_bytes: int = 10 * 1024 * 1024
    bulk_max_body_bytes: int = 10 * 1024 * 1024
    max_inflight_bytes: int = 512 * 1024 * 1024
    inflight_wait_seconds: float = 5.0
    body_idle_timeout_seconds: float = 30.0
    body_min_bytes_per_second: int = 1024


def rich_status(
    code: grpc.StatusCode,
    message: str,
    *,
    reason: str = "",
    metadata: dict[str, str] | None = None,
    violations: Sequence[tuple[str, str]] = (),
) -> grpc.Status:
    """A grpc.Status whose trailing metadata carries google.rpc.Status with ErrorInfo and BadRequest."""
    details: list[Message] = []
    if reason:
        details.append(error_details_pb2.ErrorInfo(reason=reason, domain="test", metadata=metadata or {}))
    if violations:
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in violations
                ]
            )
        )
    packed = []
    for detail in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)
        packed.append(any_detail)
    return rpc_status.to_status(status_pb2.Status(code=code.value[0], message=message, details=packed))


def timestamp(text: str) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromJsonString(text)
    return stamp


def done_task(task_id: int) -> task_pb2.Task:
    return task_pb2.Task(
        id=task_id,
        type="records_replace",
        status=task_pb2.TASK_STATUS_DONE,
        section="Products",
        submission_time=timestamp("2024-09-05T10:50:42Z"),
        progress=task_pb2.TaskProgress(records_seen=3, records_applied=3),
        result=task_pb2.TaskResult(items=task_pb2.RecordCounts(created=2, updated=1)),
        attempts=1,
    )


Failure = grpc.Status | None


@dataclass
class Recorder:
    """What the servicers received, and the failure (if any) the next calls answer with."""

    requests: list[tuple[str, Message]] = field(default_factory=list)
    metadata: list[dict[str, str]] = field(default_factory=list)
    fail_with: Failure = None

    async def enter(self, name: str, request: Message, context: grpc.aio.ServicerContext) -> None:
        self.requests.append((name, request))
        self.metadata.append({k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)})
        if self.fail_with is not None:
            failure = self.fail_with
            await context.abort(failure.code, failure.details, failure.trailing_metadata)

    def last(self, name: str) -> Any:
        return next(request for called, request in reversed(self.requests) if called == name)


class FakeTasks(task_pb2_grpc.TaskServiceServicer):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def GetTask(self, request: Any, context: grpc.aio.ServicerContext) -> task_pb2.GetTaskResponse:
        await self.recorder.enter("GetTask", request, context)
        return task_pb2.GetTaskResponse(task=done_task(request.id))

    async def ListTasks(self, request: Any, context: grpc.aio.ServicerContext) -> task_pb2.ListTasksResponse:
        await self.recorder.enter("ListTasks", request, context)
        return task_pb2.ListTasksResponse(tasks=[done_task(2), done_task(1)], total_count=2, status_counts={"DONE": 2})

    async def CancelTask(self, request: Any, context: grpc.aio.ServicerContext) -> task_pb2.CancelTaskResponse:
        await self.recorder.enter("CancelTask", request, context)
        return task_pb2.CancelTaskResponse(task=task_pb2.Task(id=request.id, status=task_pb2.TASK_STATUS_CANCELED))

    async def GetIngestionStatus(
        self, request: Any, context: grpc.aio.ServicerContext
    ) -> task_pb2.GetIngestionStatusResponse:
        await self.recorder.enter("GetIngestionStatus", request, context)
        return task_pb2.GetIngestionStatusResponse(message="OK")


class FakeCatalog(catalog_pb2_grpc.CatalogServiceServicer):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def ListRecords(self, request: Any, context: grpc.aio.ServicerContext) -> catalog_pb2.ListRecordsResponse:
        await self.recorder.enter("ListRecords", request, context)
        records = [record_pb2.Record(kind=record_pb2.RECORD_KIND_ITEM, id=i, data_json='{"n": 1}') for i in request.id]
        return catalog_pb2.ListRecordsResponse(records=records, total_count=len(records))

    async def ReplaceRecords(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        await self.recorder.enter("ReplaceRecords", request, context)
        return catalog_pb2.ReplaceRecordsResponse(task_id=1, task_status_path="/v1/task/1")

    async def UpdateRecords(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        await self.recorder.enter("UpdateRecords", request, context)
        return catalog_pb2.UpdateRecordsResponse(task_id=2, task_status_path="/v1/task/2")

    async def DeleteRecords(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        await self.recorder.enter("DeleteRecords", request, context)
        return catalog_pb2.DeleteRecordsResponse(task_id=3, task_status_path="/v1/task/3")


class FakeBatches(batch_pb2_grpc.BatchServiceServicer):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def CreateBatch(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        await self.recorder.enter("CreateBatch", request, context)
        return batch_pb2.CreateBatchResponse(id="batch-1")

    async def ListBatches(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        await self.recorder.enter("ListBatches", request, context)
        batch = batch_pb2.Batch(
            id="batch-1",
            created_at=timestamp("2024-09-05T10:50:42Z"),
            expires_at=timestamp("2024-09-12T10:50:42Z"),
        )
        return batch_pb2.ListBatchesResponse(batches=[batch])


class FakeAuth(auth_pb2_grpc.AuthServiceServicer):
    """Any non-empty Authorization is a tenant; "Bearer bad" is not."""

    async def CheckCredentials(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        authorization = dict(context.invocation_metadata() or ()).get("authorization", "")
        if authorization == "Bearer bad":
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid token")
        return auth_pb2.CheckCredentialsResponse(tenant="acme")


@dataclass
class FakeServer:
    target: str
    recorder: Recorder
