"""Shapes of the single-record paths (`/v2/{collection}/{id}`): the record in the `/v2` JSON shape, its
version as a strong `ETag`, and `If-Match` as the write's precondition (issue 15)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import grpc

from catalog_ingest_client.jsonshape import record_to_json
from catalogingest.v1 import catalog_pb2
from gateway.errors import GatewayError
from gateway.shapes.records import MAX_REPORTED_VIOLATIONS, collection_kind, record_from_json, records_error
from gateway.shapes.shape import Shape
from service.error_reasons import ErrorReason

# If-Match: `*` (the record must exist) or one strong entity tag, the version in quotes ("3").
_ENTITY_TAG = re.compile(r'"([1-9][0-9]{0,17})"')
MUST_EXIST = -1


def etag(version: int) -> str:
    return f'"{version}"'


def if_match_version(value: str) -> int:
    """The expected version an If-Match header asks for (MUST_EXIST for `*`)."""
    value = value.strip()
    if value == "*":
        return MUST_EXIST
    if value.startswith("W/"):
        # If-Match compares strongly (RFC 9110 13.1.1): a weak tag matches no version.
        raise GatewayError(
            412,
            grpc.StatusCode.FAILED_PRECONDITION.name,
            "If-Match: a weak entity tag never matches (If-Match compares strong tags); send the ETag as given",
            reason=ErrorReason.VERSION_MISMATCH,
        )
    match = _ENTITY_TAG.fullmatch(value)
    if match is None:
        raise GatewayError.invalid_argument(
            "If-Match", 'must be * or one entity tag as the ETag gives it (a version in quotes, e.g. "3")'
        )
    return int(match.group(1))


def bind_if_match(request: Any, headers: Mapping[str, str]) -> None:
    """If-Match into the write's precondition; it must agree with an `expected_version` of the body."""
    value = headers.get("if-match")
    if value is None:
        return
    expected = if_match_version(value)
    target = request.record if hasattr(request, "record") else request
    if target.HasField("expected_version") and target.expected_version != expected:
        raise GatewayError.invalid_argument(
            "If-Match", f"asks for version {expected}, the body's expected_version for {target.expected_version}"
        )
    target.expected_version = expected


def record_body(request: Any, body: Any) -> set[str]:
    """The body is one record in the `/v2` shape; its id may be left out (the path names it)."""
    kind = collection_kind(request.collection)
    if isinstance(body, dict) and "id" not in body:
        body = {**body, "id": request.id}
    record, violations = record_from_json(body, kind, "record")
    if violations:
        field, description = violations[0]
        raise GatewayError(
            400,
            "INVALID_ARGUMENT",
            f"{field}: {description}",
            reason=ErrorReason.INVALID_RECORD,
            field_violations=violations[:MAX_REPORTED_VIOLATIONS],
        )
    request.record.CopyFrom(record)
    return {"record"}


def record_response(request: Any, response: Any) -> Any:
    return record_to_json(response.record)


def record_headers(request: Any, response: Any) -> Mapping[str, str]:
    headers = {"ETag": etag(response.record.version)} if response.record.version else {}
    if getattr(response, "task_id", 0):
        headers["X-Task-Id"] = str(response.task_id)
    return headers


def delete_headers(request: Any, response: catalog_pb2.DeleteRecordResponse) -> Mapping[str, str]:
    return {"X-Task-Id": str(response.task_id)}


_CATALOG = "/catalogingest.v1.CatalogService/"
_WRITE = Shape(request=record_body, response=record_response, headers=record_headers, request_headers=bind_if_match)

RECORD_VERSION_SHAPES: dict[str, Shape] = {
    _CATALOG + "GetRecord": Shape(response=record_response, headers=record_headers, error=records_error),
    _CATALOG + "ReplaceRecord": _WRITE,
    _CATALOG + "UpdateRecord": _WRITE,
    _CATALOG + "DeleteRecord": Shape(headers=delete_headers, request_headers=bind_if_match),
}
