"""TaskService."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import grpc

from catalogingest.v1 import task_pb2, task_pb2_grpc
from service import health
from service.db.sessions import Sessions
from service.domain import idempotency, paging, retries
from service.domain.task_views import task_to_proto
from service.interceptors import current_principal
from service.servicers.record_history import TaskChangeRpcs
from service.servicers.task_errors import TaskErrorRpcs
from service.settings import Settings
from service.tasks import observe
from service.tasks.handlers import record_cancellation
from service.tasks.queue_backends import queue_store
from service.tasks.queue_store import TaskFilter
from service.tasks.status import TaskStatus

WATCH_INTERVAL = 0.2
_RETRY = idempotency.method_name(task_pb2.DESCRIPTOR.services_by_name["TaskService"], "RetryTask")


class TaskServicer(TaskChangeRpcs, TaskErrorRpcs, task_pb2_grpc.TaskServiceServicer):
    def __init__(self, sessions: Sessions, settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings
        self.queue = queue_store(sessions.kw["bind"])

    async def _get(self, task_id: int, key: str = "") -> task_pb2.Task:
        principal = current_principal()
        principal.check_tenant(key, "key")
        async with self.sessions() as session:
            task, section = await self.queue.get_task_in_section(session, principal.tenant_id, task_id)
        return task_to_proto(task, section)

    async def GetTask(
        self, request: task_pb2.GetTaskRequest, context: grpc.aio.ServicerContext
    ) -> task_pb2.GetTaskResponse:
        return task_pb2.GetTaskResponse(task=await self._get(request.id, request.key))

    async def ListTasks(
        self, request: task_pb2.ListTasksRequest, context: grpc.aio.ServicerContext
    ) -> task_pb2.ListTasksResponse:
        principal = current_principal()
        principal.check_tenant(request.key, "key")
        size = paging.page_size(request.num_results_per_page)
        where = TaskFilter(
            section=request.section,
            type=request.type,
            status=TaskStatus(task_pb2.TaskStatus.Name(request.status).removeprefix("TASK_STATUS_"))
            if request.status
            else None,
            submitted_after=request.submitted_after.ToDatetime(dt.UTC) if request.HasField("submitted_after") else None,
            submitted_before=request.submitted_before.ToDatetime(dt.UTC)
            if request.HasField("submitted_before")
            else None,
        )
        before = paging.decode_token(request.page_token, {"before": int})["before"] if request.page_token else None
        offset = 0 if request.page_token else paging.offset_for_page(request.page, size)
        async with self.sessions() as session:
            page = await self.queue.list_tasks(session, principal.tenant_id, where, size, before=before, offset=offset)
        response = task_pb2.ListTasksResponse(
            tasks=[task_to_proto(task, section) for task, section in page.tasks],
            total_count=page.total,
        )
        response.status_counts.update(
            {name.removeprefix("TASK_STATUS_"): 0 for name in task_pb2.TaskStatus.keys()[1:]} | page.status_counts
        )
        if page.more:
            response.next_page_token = paging.encode_token({"before": page.tasks[-1][0].id})
        return response

    async def CancelTask(
        self, request: task_pb2.CancelTaskRequest, context: grpc.aio.ServicerContext
    ) -> task_pb2.CancelTaskResponse:
        current_principal().check_tenant(request.key, "key")
        async with self.sessions() as session:
            canceled = await self.queue.cancel(
                session, current_principal().tenant_id, request.id, on_canceled=record_cancellation
            )
        observe.canceled(canceled.type)
        return task_pb2.CancelTaskResponse(task=await self._get(request.id))

    async def RetryTask(
        self, request: task_pb2.RetryTaskRequest, context: grpc.aio.ServicerContext
    ) -> task_pb2.RetryTaskResponse:
        principal = current_principal()
        principal.check_tenant(request.key, "key")
        overrides = retries.Overrides(
            force=request.force if request.HasField("force") else None,
            dry_run=request.validate_only if request.HasField("validate_only") else None,
            on_invalid=request.on_invalid if request.HasField("on_invalid") else None,
        )
        once = idempotency.of_request(context, principal.tenant_id, self.settings.idempotency_window_seconds)
        digest = idempotency.request_hash(_RETRY, request) if once else ""
        async with self.sessions() as session:

            async def create() -> int:
                return await retries.retry(
                    session,
                    principal.tenant_id,
                    request.id,
                    overrides,
                    submitted_by=principal.token_id,
                    payload_retention_seconds=self.settings.failed_payload_retention_seconds,
                    idempotency_key=once.key if once else None,
                    request_hash=digest or None,
                )

            task_id = await idempotency.submit_once(session, once, digest, create)
        return task_pb2.RetryTaskResponse(task=await self._get(task_id))

    async def WatchTask(
        self, request: task_pb2.WatchTaskRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[task_pb2.WatchTaskResponse]:
        last: task_pb2.Task | None = None
        while True:
            task = await self._get(request.id, request.key)
            # last_update moves on every write to the task; compare the rest to send real changes only.
            if last is None or _changed(last, task):
                yield task_pb2.WatchTaskResponse(task=task)
                last = task
            if task.status in (task_pb2.TASK_STATUS_DONE, task_pb2.TASK_STATUS_FAILED, task_pb2.TASK_STATUS_CANCELED):
                return
            await asyncio.sleep(WATCH_INTERVAL)

    async def GetIngestionStatus(
        self, request: task_pb2.GetIngestionStatusRequest, context: grpc.aio.ServicerContext
    ) -> task_pb2.GetIngestionStatusResponse:
        problem = await health.ingestion_problem(self.sessions, self.settings.worker_lease_timeout)
        if problem is not None:
            raise problem
        return task_pb2.GetIngestionStatusResponse(message="OK")


def _changed(before: task_pb2.Task, after: task_pb2.Task) -> bool:
    a, b = task_pb2.Task(), task_pb2.Task()
    a.CopyFrom(before)
    b.CopyFrom(after)
    a.ClearField("last_update")
    b.ClearField("last_update")
    return a != b
