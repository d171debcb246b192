"""Single-record reads and writes with versions (issue 15): GetRecord, and ReplaceRecord / UpdateRecord /
DeleteRecord, which submit a one-record task and wait for it, so that a failed precondition is the call's
FAILED_PRECONDITION (HTTP 412) with the record's current version."""

from __future__ import annotations

import asyncio
import time

import grpc

from catalogingest.v1 import catalog_pb2, record_pb2
from service.db.sessions import Sessions
from service.domain.catalogs import catalog_for_write, get_catalog
from service.domain.ids import check_record_key
from service.domain.records import row_to_proto
from service.error_reasons import ErrorReason
from service.errors import CatalogIngestError, DeadlineExceeded, FailedPrecondition, invalid_field
from service.settings import Settings
from service.store.record_reads import get_records
from service.tasks import queue
from service.tasks.record_writes import RECORDS_PART, encode_chunk
from service.tasks.status import TaskStatus, TaskType

# How long a single-record write waits for its task (less when the call's deadline is nearer).
WAIT_SECONDS = 30.0
_FINISHED = frozenset({TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELED})


class RecordVersionRpcs:
    """The CatalogServicer mixin of the single-record paths (`/v2/{collection}/{id}`)."""

    sessions: Sessions
    settings: Settings

    async def ReplaceRecord(
        self, request: catalog_pb2.ReplaceRecordRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ReplaceRecordResponse:
        task_id, record = await self._write_one(request, request.record, context, TaskType.RECORDS_REPLACE)
        return catalog_pb2.ReplaceRecordResponse(
            record=record, task_id=task_id, task_status_path=queue.status_path(task_id)
        )

    async def UpdateRecord(
        self, request: catalog_pb2.UpdateRecordRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.UpdateRecordResponse:
        task_id, record = await self._write_one(
            request, request.record, context, TaskType.RECORDS_UPDATE, on_missing=request.on_missing
        )
        return catalog_pb2.UpdateRecordResponse(
            record=record, task_id=task_id, task_status_path=queue.status_path(task_id)
        )

    async def DeleteRecord(
        self, request: catalog_pb2.DeleteRecordRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.DeleteRecordResponse:
        record = record_pb2.Record()
        if request.HasField("expected_version"):
            record.expected_version = request.expected_version
        task_id, _ = await self._write_one(request, record, context, TaskType.RECORDS_DELETE)
        return catalog_pb2.DeleteRecordResponse(task_id=task_id, task_status_path=queue.status_path(task_id))

    async def _read_one(
        self, tenant_id: int, section: str, kind: int, record_id: str, record_context: str
    ) -> record_pb2.Record | None:
        async with self.sessions() as session:
            catalog = await get_catalog(session, tenant_id, self.settings.section(section))
            rows = await get_records(session, catalog.active_version_id, kind, record_context, [record_id])
        return row_to_proto(rows[0]) if rows else None

    async def _write_one(
        self,
        request: catalog_pb2.ReplaceRecordRequest | catalog_pb2.UpdateRecordRequest | catalog_pb2.DeleteRecordRequest,
        record: record_pb2.Record,
        context: grpc.aio.ServicerContext,
        task_type: str,
        on_missing: int = 0,
    ) -> tuple[int, record_pb2.Record | None]:
        """Submit the record's write as a task, wait for it, and answer the record as it then is."""
        target = self._target(
            key=request.key,
            section=request.section,
            collection=request.collection,
            task_type=task_type,
            force=False,
            notification_email="",
            on_missing=on_missing,
        )
        check_record_key(request.id, request.context)
        if record.id and record.id != request.id:
            raise invalid_field("record.id", f"must be the id of the path ('{request.id}') or left out")
        if record.context and record.context != request.context:
            raise invalid_field("record.context", "must be the context parameter or left out")
        record.id, record.context = request.id, request.context
        try:
            self._validate([record], target)
        except CatalogIngestError as error:
            # validate_records names records[0].<field>: this call has one `record`.
            error.field_violations = [(str(p).replace("records[0]", "record", 1), d) for p, d in error.violations]
            error.message = error.message.replace("records[0]", "record", 1)
            raise
        target.params["records_total"] = 1
        async with (
            catalog_for_write(self.sessions, target.tenant_id, target.section) as catalog,
            self.sessions() as session,
        ):
            task = await self._open_task(
                session,
                target,
                catalog.id,
                idempotency_key=None,
                request_hash=None,
                payload=[(RECORDS_PART, encode_chunk([record]))],
                commit=True,
            )
            task_id = task.id
        status, error = await self._wait(target.tenant_id, task_id, context)
        if status != TaskStatus.DONE:
            raise _write_failed(task_id, status, error)
        if task_type == TaskType.RECORDS_DELETE:
            return task_id, None
        return task_id, await self._read_one(target.tenant_id, request.section, target.kind, record.id, record.context)

    async def _wait(
        self, tenant_id: int, task_id: int, context: grpc.aio.ServicerContext
    ) -> tuple[str, dict[str, object] | None]:
        """Poll the task until it has finished (its status and error), or raise RECORD_WRITE_PENDING."""
        remaining = context.time_remaining()
        budget = WAIT_SECONDS if remaining is None else max(0.0, min(WAIT_SECONDS, remaining - 0.5))
        deadline = time.monotonic() + budget
        delay = 0.02
        while True:
            async with self.sessions() as session:
                task = await queue.get_task(session, tenant_id, task_id)
                status, error = task.status, task.error
            if status in _FINISHED:
                return status, error
            if time.monotonic() + delay > deadline:
                raise DeadlineExceeded(
                    f"task {task_id} has not finished within {budget:.0f} s; it goes on: follow"
                    f" {queue.status_path(task_id)}",
                    reason=ErrorReason.RECORD_WRITE_PENDING,
                    metadata={"task_id": str(task_id)},
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)


def _write_failed(task_id: int, status: str, error: dict[str, object] | None) -> CatalogIngestError:
    error = error or {}
    conflicts = error.get("version_conflicts")
    if error.get("reason") == ErrorReason.VERSION_MISMATCH and isinstance(conflicts, list) and conflicts:
        conflict = conflicts[0]
        return FailedPrecondition(
            str(error.get("message", "")),
            reason=ErrorReason.VERSION_MISMATCH,
            metadata={
                "record_id": str(conflict["record_id"]),
                "expected_version": str(conflict["expected_version"]),
                "current_version": str(conflict["current_version"]),
                "task_id": str(task_id),
            },
        )
    reason = str(error.get("reason", status))
    return FailedPrecondition(
        f"the write failed (task {task_id}, {reason}): {error.get('message', status)}",
        reason=ErrorReason.RECORD_WRITE_FAILED,
        metadata={"task_id": str(task_id), "task_reason": reason},
    )
