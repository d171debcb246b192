"""The documented JSON shapes for the OpenAPI document: what the adapters of gateway/shapes*.py read and
write where it is not proto JSON, the error bodies, and the routes no annotation describes.

Keyed like gateway/shapes/ (gRPC method path); a test checks that every RPC with a request or response
adapter has an entry here, so a new adapter cannot go undocumented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.shapes import message_only_error
from gateway.shapes.bulk_items import message_error
from gateway.shapes.shape import Shape

_CATALOG = "/catalogingest.v1.CatalogService/"
_BATCH = "/catalogingest.v1.BatchService/"


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


@dataclass(frozen=True)
class Override:
    """What differs from the generic binding: the request fields the body fills (the rest are query
    parameters), the body's and the answer's schemas, the answer's extra headers."""

    body_fields: frozenset[str] | None = None
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    response_headers: tuple[str, ...] = ()
    path_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)


_COLLECTIONS = ("items", "variations", "item_groups")
_COLLECTION = {"type": "string", "enum": list(_COLLECTIONS)}

COMPONENTS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "required": ["message", "code"],
        "properties": {
            "message": {"type": "string"},
            "code": {"type": "string", "description": "the gRPC status code name: INVALID_ARGUMENT, NOT_FOUND, ..."},
            "reason": {"type": "string", "description": "UPPER_SNAKE_CASE, stable"},
            "field_violations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "description"],
                    "properties": {"field": {"type": "string"}, "description": {"type": "string"}},
                },
            },
        },
    },
    "MessageError": {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}},
    "RecordChangeList": {
        "type": "object",
        "required": ["changes"],
        "properties": {
            "changes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "collection": {"type": "string", "enum": list(_COLLECTIONS)},
                        "id": {"type": "string"},
                        "context": {"type": "string"},
                        "operation": {"type": "string", "enum": ["CREATE", "UPDATE", "DELETE"]},
                        "change_time": {"type": "string", "format": "date-time"},
                        "task_id": {"type": "integer"},
                        "task_type": {"type": "string"},
                        "request_id": {"type": "string"},
                        "fields": {
                            "type": "array",
                            "description": "left out: `before` where the field did not exist, `after` where it"
                            " no longer exists",
                            "items": {
                                "type": "object",
                                "required": ["field"],
                                "properties": {"field": {"type": "string"}, "before": {}, "after": {}},
                            },
                        },
                    },
                },
            },
            "next_page_token": {"type": "string"},
        },
    },
    "V2Record": {
        "type": "object",
        "description": "A record of the async items API. `item_id` is a variation's parent item, `parent_ids`"
        " an item group's parents; every other attribute goes in `data`.",
        "required": ["id"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string"},
            "name": {"type": ["string", "null"]},
            "suggested_score": {"type": ["number", "null"]},
            "item_id": {"type": ["string", "null"]},
            "parent_ids": {"type": ["array", "null"], "items": {"type": "string"}},
            "context": {"type": ["string", "null"]},
            "data": {"type": ["object", "null"]},
            "timestamp": {"type": ["string", "null"], "format": "date-time"},
            "expected_version": {
                "type": "integer",
                "minimum": -1,
                "description": "a write's precondition: apply only if the record is at this version"
                " (0: it must not exist; -1: it must exist)",
            },
            "version": {
                "type": "integer",
                "readOnly": True,
                "description": "1 when created, one more with each write that changed the record",
            },
            "update_time": {"type": "string", "format": "date-time", "readOnly": True},
        },
    },
    "V2Records": {
        "type": "object",
        "description": "One key, the collection of the path: items, variations or item_groups.",
        "properties": {name: {"type": "array", "items": ref("V2Record")} for name in _COLLECTIONS},
    },
    "V2RecordList": {
        "type": "object",
        "required": ["total_count"],
        "properties": {
            **{name: {"type": "array", "items": ref("V2Record")} for name in _COLLECTIONS},
            "total_count": {"type": "integer"},
            "next_page_token": {"type": "string"},
        },
    },
    "BulkItem": {
        "type": "object",
        "description": "Unknown keys, an item_id that is not a string or holds '/', or properties that do not"
        " fit the catalog's fields fail the item alone (its result says why).",
        "properties": {"item_id": {"type": "string"}, "properties": {"type": "object"}},
    },
    "BulkItemResult": {
        "type": "object",
        "required": ["success", "queued"],
        "properties": {
            "success": {"type": "string", "enum": ["True", "False"]},
            "queued": {"type": "string", "enum": ["True", "False"]},
            "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        },
    },
    "BatchItemInput": {
        "type": "object",
        "description": "An item of the batch imports API; a malformed element fails alone with code 5.",
        "properties": {
            "id": {"type": "string"},
            "type": {"type": "string"},
            "context": {"type": "string"},
            "timestamp": {"type": "string", "format": "date-time"},
            "parentId": {"type": "string"},
            "attributes": {"type": "object"},
        },
    },
}

HEADERS: dict[str, dict[str, Any]] = {
    "X-Task-Id": {"description": "the task that applies the valid items", "schema": {"type": "integer"}},
    "ETag": {
        "description": 'the record\'s version, a strong entity tag ("3"); If-Match takes it',
        "schema": {"type": "string"},
    },
    "Retry-After": {"description": "seconds before the call may be retried", "schema": {"type": "integer"}},
}

_RECORDS_WRITE = Override(body_fields=frozenset({"records"}), request=ref("V2Records"))
_BULK = Override(
    body_fields=frozenset({"items"}),
    request={"type": "array", "items": ref("BulkItem")},
    response={"type": "array", "items": ref("BulkItemResult")},
    response_headers=("X-Task-Id",),
)
_ONE_RECORD = Override(
    body_fields=frozenset({"record"}),
    request=ref("V2Record"),
    response=ref("V2Record"),
    response_headers=("ETag", "X-Task-Id"),
    path_schemas={"collection": _COLLECTION},
)
_BATCH_ITEMS = Override(request={"type": "array", "items": ref("BatchItemInput")})

OVERRIDES: dict[str, Override] = {
    _CATALOG + "ListRecords": Override(response=ref("V2RecordList"), path_schemas={"collection": _COLLECTION}),
    _CATALOG + "GetRecord": Override(response=ref("V2Record"), path_schemas={"collection": _COLLECTION}),
    _CATALOG + "ListRecordHistory": Override(
        response=ref("RecordChangeList"), path_schemas={"collection": _COLLECTION}
    ),
    "/catalogingest.v1.TaskService/ListTaskChanges": Override(response=ref("RecordChangeList")),
    _CATALOG + "ReplaceRecords": Override(**{**_RECORDS_WRITE.__dict__, "path_schemas": {"collection": _COLLECTION}}),
    _CATALOG + "UpdateRecords": Override(**{**_RECORDS_WRITE.__dict__, "path_schemas": {"collection": _COLLECTION}}),
    _CATALOG + "DeleteRecords": Override(**{**_RECORDS_WRITE.__dict__, "path_schemas": {"collection": _COLLECTION}}),
    _CATALOG + "GetRecord": Override(
        response=ref("V2Record"), response_headers=("ETag",), path_schemas={"collection": _COLLECTION}
    ),
    _CATALOG + "ReplaceRecord": _ONE_RECORD,
    _CATALOG + "UpdateRecord": _ONE_RECORD,
    _CATALOG + "BulkReplaceCatalogItems": _BULK,
    _CATALOG + "BulkUpdateCatalogItems": _BULK,
    _BATCH + "AddBatchItems": _BATCH_ITEMS,
    _BATCH + "UpdateBatchItems": _BATCH_ITEMS,
    _BATCH + "DeleteBatchItems": _BATCH_ITEMS,
    # tenant and environment are query parameters; the document's sample sends catalogVersion as a number.
    _BATCH + "CreateIngestion": Override(
        body_fields=frozenset(
            {
                "batch_import_id",
                "catalog_version",
                "min_item_count",
                "min_success_rate_percent",
                "source",
                "delete_missing_items",
                "promote_catalog_on_completion",
            }
        ),
        request={
            "type": "object",
            "required": ["catalogVersion"],
            "properties": {
                "catalogVersion": {"type": ["string", "integer"]},
                "batchImportId": {"type": "string"},
                "minItemCount": {"type": "integer"},
                "minSuccessRatePercent": {"type": "number"},
                "source": {"type": "string"},
                "deleteMissingItems": {"type": "boolean"},
                "promoteCatalogOnCompletion": {"type": "boolean"},
            },
        },
    ),
}
# Query parameters of the camel-case services that the batch imports document writes in lowerCamelCase.
QUERY_NAMES = {"create_batch_import": "createBatchImport", "min_item_count": "minItemCount"}
_MESSAGE_ONLY_ADAPTERS = (message_only_error, message_error)


def error_schema(shape: Shape) -> dict[str, Any]:
    return ref("MessageError") if shape.error in _MESSAGE_ONLY_ADAPTERS else ref("Error")


_REASONS = {
    "400": "Bad Request: the message names the parameter, field, row or item",
    "401": "Unauthorized: no token, or an unknown one",
    "403": "Forbidden: a tenant parameter that is not the token's tenant",
    "404": "Not Found",
    "409": "Conflict: already exists, or an idempotency key reused with another body",
    "412": "Precondition Failed: the record is not at the version of If-Match or expected_version; the body's"
    " current_version and the ETag give its version",
    "413": "Payload Too Large",
    "429": "Too Many Requests (Retry-After)",
    "503": "Service Unavailable: the database or the server is unreachable",
    "504": "Gateway Timeout",
}


# The precondition of a single-record write: the ETag read (a version in quotes), or * (the record exists).
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": 'apply only if the record\'s ETag is this one ("3"), or * if it exists; else 412',
}


def error_responses(codes: list[str], schema: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for code in codes:
        response: dict[str, Any] = {"description": _REASONS[code], "content": {"application/json": {"schema": schema}}}
        if code in ("429", "503"):
            response["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
        out[code] = response
    out["default"] = {"description": "Any other error", "content": {"application/json": {"schema": schema}}}
    return out


def _errors(*extra: str) -> dict[str, Any]:
    return error_responses(sorted(["400", "401", "403", "404", "429", "503", "504", *extra]), ref("Error"))


def custom_operations(registry: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """The routes no google.api.http annotation describes: the CSV upload, the task watch, the docs, the metrics."""
    from catalogingest.v1 import catalog_pb2, task_pb2

    upload_response = registry.ref(catalog_pb2.UploadCatalogResponse.DESCRIPTOR)
    task = registry.ref(task_pb2.Task.DESCRIPTOR)
    task_error = registry.ref(task_pb2.TaskError.DESCRIPTOR)
    task_error_camel = registry.ref(task_pb2.TaskError.DESCRIPTOR, camel_case=True)
    common_query = [
        {"name": "key", "in": "query", "schema": {"type": "string"}, "description": "the tenant's name"},
        {"name": "section", "in": "query", "schema": {"type": "string"}, "description": "default: Products"},
        {"name": "force", "in": "query", "schema": {"type": "boolean"}},
        {"name": "notification_email", "in": "query", "schema": {"type": "string"}},
        {
            "name": "notification_url",
            "in": "query",
            "schema": {"type": "string"},
            "description": "receives a signed POST of the task when it finishes (see README, Webhooks)",
        },
    ]
    files = {
        "type": "object",
        "properties": {name: {"type": "string", "contentMediaType": "text/csv"} for name in _COLLECTIONS},
    }

    def upload(method: str, summary: str, query: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "operationId": f"UploadCatalog.{method}",
            "summary": summary,
            "tags": ["CatalogService"],
            "parameters": query,
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": files}}},
            "responses": {
                "200": {
                    "description": "stored; the task applies it",
                    "content": {"application/json": {"schema": upload_response}},
                },
                **_errors("409", "413"),
            },
        }

    patch_query = [*common_query, {"name": "patch_delta", "in": "query", "schema": {"type": "boolean"}}]
    watch = {
        "operationId": "TaskService.WatchTask",
        "summary": "the task now and on every change, as Server-Sent Events; closes on a final status",
        "tags": ["TaskService"],
        "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "format": "int64"}},
            {"name": "key", "in": "query", "schema": {"type": "string"}},
        ],
        "responses": {
            "200": {
                "description": "`event: task` with the task as GET /v1/tasks/{id} shows it, once per change;"
                " `event: error` with an error body if the watch fails after the first event",
                "content": {
                    "text/event-stream": {
                        "schema": {
                            "type": "object",
                            "required": ["event", "data"],
                            "properties": {
                                "event": {"type": "string", "enum": ["task", "error"]},
                                "data": {
                                    "type": "string",
                                    "contentMediaType": "application/json",
                                    "contentSchema": {"oneOf": [task, ref("Error")]},
                                },
                            },
                        }
                    }
                },
            },
            **_errors(),
        },
    }

    def errors_download(operation_id: str, tag: str, error: dict[str, Any], query: list[str]) -> dict[str, Any]:
        id_schema = {"type": "integer", "format": "int64"} if tag == "TaskService" else {"type": "string"}
        return {
            "operationId": operation_id,
            "summary": "every error the task stored, one JSON object a line (the record as sent: fix it, send it"
            " again)",
            "tags": [tag],
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": id_schema},
                *({"name": name, "in": "query", "schema": {"type": "string"}} for name in query),
            ],
            "responses": {
                "200": {
                    "description": "one error a line, as the errors list shows them",
                    "content": {"application/x-ndjson": {"schema": error}},
                },
                **_errors(),
            },
        }

    # Prometheus scrapes it without a token, like the health check.
    metrics = {
        "operationId": "metrics",
        "summary": "this process's Prometheus metrics (text format 0.0.4)",
        "tags": ["operations"],
        "security": [],
        "responses": {"200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}},
    }

    def public(operation_id: str, media_type: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "operationId": operation_id,
            "tags": ["docs"],
            "security": [],
            "responses": {"200": {"description": "OK", "content": {media_type: {"schema": schema}}}},
        }

    return [
        ("/v1/catalog", "put", upload("PUT", "full sync of the given kinds from CSV files", common_query)),
        ("/v1/catalog", "patch", upload("PATCH", "delta upsert from CSV files", patch_query)),
        ("/v1/tasks/{id}:watch", "get", watch),
        (
            "/v1/tasks/{id}/errors.jsonl",
            "get",
            errors_download("TaskService.ListTaskErrors.jsonl", "TaskService", task_error, ["key"]),
        ),
        (
            "/batch-imports/ingestions/{id}/errors.jsonl",
            "get",
            errors_download(
                "BatchService.ListIngestionErrors.jsonl", "BatchService", task_error_camel, ["tenant", "environment"]
            ),
        ),
        ("/openapi.json", "get", public("openapi", "application/json", {"type": "object"})),
        ("/docs", "get", public("docs", "text/html", {"type": "string"})),
        ("/docs/redoc.standalone.js", "get", public("docsScript", "text/javascript", {"type": "string"})),
        ("/metrics", "get", metrics),
    ]
