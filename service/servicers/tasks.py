"""TaskService."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import grpc
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Select

from catalogingest.v1 import task_pb2, task_pb2_grpc
from service import health, paging
from service.db.models import Catalog, Task
from service.interceptors import current_principal
from service.settings import Settings
from service.task_views import task_to_proto
from service.tasks import observe, queue
from service.tasks.handlers import record_cancellation
from service.tasks.status import VISIBLE

WATCH_INTERVAL = 0.2


class TaskServicer(task_pb2_grpc.TaskServiceServicer):
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings

    async def _get(self, session: AsyncSession, task_id: int, key: str = "") -> task_pb2.Task:
        principal = current_principal()
        principal.check_tenant(key, "key")
        task = await queue.get_task(session, principal.tenant_id, task_id)
        section = (await session.execute(select(Catalog.name).where(Catalog.id == task.catalog_id))).scalar_one()
        return task_to_proto(task, section)

    async def GetTask(
        self, request: task_pb2.GetTaskRequest, context: grpc.aio.ServicerContext
    ) -> task_pb2.GetTaskResponse:
        async with self.sessions() as session:
            return task_pb2.GetTaskResponse(task=await self._get(session, request.id, request.key))

    async def ListTasks(
        self, request: task_pb2.ListTasksRequest, context: grpc.aio.ServicerContext
    ) -> task_pb2.ListTasksResponse:
        principal = current_principal()
        principal.check_tenant(request.key, "key")
        size = paging.page_size(request.num_results_per_page)
        query: Select = (
            select(Task, Catalog.name)
            .join(Catalog, Catalog.id == Task.catalog_id)
            .where(Task.tenant_id == principal.tenant_id, Task.status.in_(VISIBLE))
        )
        if request.section:
            query = query.where(Catalog.name == request.section)
        if request.type:
            query = query.where(Task.type == request.type)
        if request.HasField("submitted_after"):
            query = query.where(Task.submission_time >= request.submitted_after.ToDatetime(dt.UTC))
        if request.HasField("submitted_before"):
            query = query.where(Task.submission_time < request.submitted_before.ToDatetime(dt.UTC))
        by_status = query.with_only_columns(Task.status, func.count()).group_by(Task.status).order_by(None)
        if request.status:
            query = query.where(Task.status == task_pb2.TaskStatus.Name(request.status).removeprefix("TASK_STATUS_"))
        async with self.sessions() as session:
            status_counts = {status: count for status, count in (await session.execute(by_status)).all()}
            total = (await session.execute(query.with_only_columns(func.count()).order_by(None))).scalar_one()
            page = query.order_by(Task.id.desc()).limit(size + 1)
            if request.page_token:
                page = page.where(Task.id < paging.decode_token(request.page_token, {"before": int})["before"])
            else:
                page = page.offset(paging.offset_for_page(request.page, size))
            rows = (await session.execute(page)).all()
        response = task_pb2.ListTasksResponse(
            tasks=[task_to_proto(task, section) for task, section in rows[:size]],
            total_count=total,
        )
        response.status_counts.update(
            {name.removeprefix("TASK_STATUS_"): 0 for name in task_pb2.TaskStatus.keys()[1:]} | status_counts
        )
        if len(rows) > size:
            response.next_page_token = paging.encode_token({"before": rows[size - 1][0].id})
        return response

    async def CancelTask(
        self, request: task_pb2.CancelTaskRequest, context: grpc.aio.ServicerContext
    ) -> task_pb2.CancelTaskResponse:
        current_principal().check_tenant(request.key, "key")
        async with self.sessions() as session:
            canceled = await queue.cancel(
                session, current_principal().tenant_id, request.id, on_canceled=record_cancellation
            )
            observe.canceled(canceled.type)
            return task_pb2.CancelTaskResponse(task=await self._get(session, request.id))

    async def WatchTask(
        self, request: task_pb2.WatchTaskRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[task_pb2.WatchTaskResponse]:
        last: task_pb2.Task | None = None
        while True:
            async with self.sessions() as session:
                task = await self._get(session, request.id, request.key)
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
