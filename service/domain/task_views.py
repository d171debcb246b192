"""A stored task as the TaskService shows it."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from catalogingest.v1 import task_pb2
from service.db.models import Task
from service.domain.task_errors import total_of
from service.timeutil import to_timestamp


def task_to_proto(task: Task, section: str) -> task_pb2.Task:
    message = task_pb2.Task(
        id=task.id,
        type=task.type,
        status=task_pb2.TaskStatus.Value(f"TASK_STATUS_{task.status}"),
        section=section,
        progress=_progress(task),
        attempts=task.attempts,
    )
    if task.retry_of is not None:
        message.retry_of = task.retry_of
    for name in ("submission_time", "start_time", "finish_time", "last_update"):
        value = getattr(task, name)
        if value is not None:
            getattr(message, name).CopyFrom(to_timestamp(value))
    if error_count := total_of(task.error, task.result):
        message.error_count = error_count
    result: dict[str, Any] | None = task.result
    if result:
        message.result.CopyFrom(_result(result))
    if task.error:
        # Handlers may store more than TaskError shows (an ingestion's outcome lives on the ingestion).
        shown = {k: v for k, v in task.error.items() if k in _ERROR_FIELDS and v is not None}
        message.error.CopyFrom(task_pb2.TaskError(**shown))
    return message


_ERROR_FIELDS = frozenset(task_pb2.TaskError.DESCRIPTOR.fields_by_name)
_KINDS = ("items", "variations", "item_groups")


def _result(result: dict[str, Any]) -> task_pb2.TaskResult:
    message = task_pb2.TaskResult(
        skipped_record_ids=result.get("skipped_record_ids", ()),
        version_conflicts=[task_pb2.VersionConflict(**c) for c in result.get("version_conflicts", ())],
    )
    if "ingestion_id" in result:
        message.ingestion_id = result["ingestion_id"]
    if "preview" in result:
        json_format.ParseDict(result["preview"], message.preview, ignore_unknown_fields=True)
    for kind in _KINDS:
        if kind in result:
            getattr(message, kind).CopyFrom(task_pb2.RecordCounts(**result[kind]))
    return message


def _progress(task: Task) -> task_pb2.TaskProgress:
    """Totals known at submission live in the task's params (set by the servicer that stored it)."""
    params = task.params if isinstance(task.params, dict) else {}
    return task_pb2.TaskProgress(
        records_seen=task.records_seen,
        records_applied=task.records_applied,
        records_total=int(params.get("records_total") or 0),
        bytes_total=int(params.get("bytes_total") or 0),
    )
