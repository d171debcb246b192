"""Response messages as the documents show them."""

from __future__ import annotations

import orjson

from catalogingest.v1 import batch_pb2, catalog_pb2, task_pb2
from gateway.responses import message_to_json, render
from tests.gateway.fakes import done_task, timestamp


def test_task_via_response_body_with_numbers_and_short_enums() -> None:
    body = render(task_pb2.GetTaskResponse(task=done_task(1)), response_body="task")
    assert body == {
        "id": 1,
        "type": "records_replace",
        "status": "DONE",
        "section": "Products",
        "submission_time": "2024-09-05T10:50:42Z",
        "progress": {"records_seen": 3, "records_applied": 3, "records_total": 0, "bytes_total": 0},
        "result": {
            "items": {"created": 2, "updated": 1, "deleted": 0, "unchanged": 0, "rejected": 0},
            "skipped_record_ids": [],
            "version_conflicts": [],
        },
        "attempts": 1,
    }


def test_int64_is_a_json_number_even_when_zero_or_huge() -> None:
    assert orjson.dumps(render(catalog_pb2.ReplaceRecordsResponse(task_id=1, task_status_path="/v1/task/1"))) == (
        b'{"task_id":1,"task_status_path":"/v1/task/1"}'
    )
    assert render(catalog_pb2.ReplaceRecordsResponse()) == {"task_id": 0, "task_status_path": ""}
    assert render(task_pb2.GetTaskRequest(id=2**63 - 1)) == {"id": 9223372036854775807, "key": ""}


def test_list_with_map_of_int64_and_empty_page_token() -> None:
    response = task_pb2.ListTasksResponse(tasks=[done_task(1)], total_count=1, status_counts={"DONE": 1})
    body = render(response)
    assert body["total_count"] == 1
    assert body["status_counts"] == {"DONE": 1}
    assert body["next_page_token"] == ""
    assert body["tasks"][0]["id"] == 1


def test_unspecified_enum_and_failed_task_error() -> None:
    task = task_pb2.Task(
        id=3, status=task_pb2.TASK_STATUS_FAILED, error=task_pb2.TaskError(reason="INVALID_CSV", row=12)
    )
    body = message_to_json(task)
    assert body["status"] == "FAILED"
    assert body["error"] == {
        "reason": "INVALID_CSV",
        "message": "",
        "file": "",
        "row": 12,
        "column": "",
        "record_id": "",
        "version_conflicts": [],
    }
    assert message_to_json(task_pb2.Task())["status"] == "UNSPECIFIED"
    assert "error" not in message_to_json(task_pb2.Task())


def test_unset_response_body_is_null() -> None:
    assert render(task_pb2.GetTaskResponse(), response_body="task") is None


def test_batch_service_is_camel_case_with_rfc3339() -> None:
    batch = batch_pb2.Batch(
        id="b", created_at=timestamp("2024-09-05T10:50:42Z"), expires_at=timestamp("2024-09-12T10:50:42.5Z")
    )
    body = render(batch_pb2.ListBatchesResponse(batches=[batch]), response_body="batches", camel_case=True)
    assert body == [{"id": "b", "createdAt": "2024-09-05T10:50:42Z", "expiresAt": "2024-09-12T10:50:42.500Z"}]
    assert render(task_pb2.TaskProgress(records_seen=2), camel_case=True) == {
        "recordsSeen": 2,
        "recordsApplied": 0,
        "recordsTotal": 0,
        "bytesTotal": 0,
    }
