"""Shapes of the record history reads: the change listings (/v2/{collection}/{id}/history,
/v1/tasks/{id}/changes) write each field's values as JSON rather than as the JSON text the protos carry."""

from __future__ import annotations

from typing import Any

import orjson

from catalogingest.v1 import record_history_pb2, record_pb2
from gateway.shapes.records import records_error
from gateway.shapes.shape import Shape

_KIND_COLLECTIONS = {
    record_pb2.RECORD_KIND_ITEM: "items",
    record_pb2.RECORD_KIND_VARIATION: "variations",
    record_pb2.RECORD_KIND_ITEM_GROUP: "item_groups",
}


def change_to_json(change: record_history_pb2.RecordChange) -> dict[str, Any]:
    """One change: `before` / `after` of a field are left out where the field did not exist on that side."""
    fields = []
    for field in change.fields:
        out: dict[str, Any] = {"field": field.field}
        if field.HasField("before_json"):
            out["before"] = orjson.loads(field.before_json)
        if field.HasField("after_json"):
            out["after"] = orjson.loads(field.after_json)
        fields.append(out)
    return {
        "collection": _KIND_COLLECTIONS.get(change.kind, ""),
        "id": change.id,
        "context": change.context,
        "operation": record_history_pb2.RecordOperation.Name(change.operation).removeprefix("RECORD_OPERATION_"),
        "change_time": change.change_time.ToJsonString(),
        "task_id": change.task_id,
        "task_type": change.task_type,
        "request_id": change.request_id,
        "fields": fields,
    }


def changes_response(request: Any, response: Any) -> dict[str, Any]:
    """`{"changes": [...]}` (+ `next_page_token` when there is a next page)."""
    out: dict[str, Any] = {"changes": [change_to_json(c) for c in response.changes]}
    if response.next_page_token:
        out["next_page_token"] = response.next_page_token
    return out


_CATALOG = "/catalogingest.v1.CatalogService/"
RECORD_HISTORY_SHAPES: dict[str, Shape] = {
    _CATALOG + "ListRecordHistory": Shape(response=changes_response, error=records_error),
    "/catalogingest.v1.TaskService/ListTaskChanges": Shape(response=changes_response),
}
