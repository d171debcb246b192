"""TaskService.ListTaskErrors and BatchService.ListIngestionErrors: every error a task reported, a page at a time."""

from __future__ import annotations

import grpc

from catalogingest.v1 import batch_pb2, task_pb2
from service.db.models import Task
from service.db.sessions import Sessions
from service.domain import task_errors
from service.domain.ingestions import get_ingestion
from service.errors import NotFound, invalid_field
from service.interceptors import current_principal
from service.servicers.batch_scope import BatchScope
from service.tasks.queue_store import QueueStore


def _page_size(requested: int) -> int:
    if requested < 0:
        raise invalid_field("page_size", "must not be negative")
    return task_errors.page_size(requested)


class TaskErrorRpcs:
    sessions: Sessions
    queue: QueueStore

    async def ListTaskErrors(
        self, request: task_pb2.ListTaskErrorsRequest, context: grpc.aio.ServicerContext
    ) -> task_pb2.ListTaskErrorsResponse:
        principal = current_principal()
        principal.check_tenant(request.key, "key")
        size = _page_size(request.page_size)
        async with self.sessions() as session:
            # Another tenant's task is NOT_FOUND, like one that does not exist.
            task = await self.queue.get_task(session, principal.tenant_id, request.id)
            page = await task_errors.list_errors(
                session,
                task.id,
                size=size,
                page_token=request.page_token,
                total=task_errors.total_of(task.error, task.result),
            )
        return task_pb2.ListTaskErrorsResponse(
            errors=page.errors, next_page_token=page.next_page_token, total_size=page.total_size
        )


class IngestionErrorRpcs(BatchScope):
    async def ListIngestionErrors(
        self, request: batch_pb2.ListIngestionErrorsRequest, context: grpc.aio.ServicerContext
    ) -> batch_pb2.ListIngestionErrorsResponse:
        tenant_id = self._scope(request.tenant, request.environment)
        size = _page_size(request.page_size)
        async with self.sessions() as session:
            catalog = await self._catalog(session, tenant_id, request.environment)
            ingestion = await get_ingestion(session, catalog.id, request.id)
            if ingestion.task_id is None:
                raise NotFound(f"ingestion '{request.id}' has no task")
            task = await session.get(Task, ingestion.task_id)
            page = await task_errors.list_errors(
                session,
                ingestion.task_id,
                size=size,
                page_token=request.page_token,
                total=task_errors.total_of(task.error, task.result) if task is not None else None,
            )
        return batch_pb2.ListIngestionErrorsResponse(
            errors=page.errors, next_page_token=page.next_page_token, total_size=page.total_size
        )
