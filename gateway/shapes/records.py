"""Shapes of the async items API (/v2/{collection}): the body names its records by their collection
(`items`, `variations`, `item_groups`), where the write RPCs name them `records`."""

from __future__ import annotations

from typing import Any

import orjson

from catalog_ingest_client.jsonshape import record_to_json
from catalogingest.v1 import catalog_pb2, record_pb2
from gateway.binding import shown
from gateway.errors import GatewayError
from gateway.shapes.shape import Shape
from service.domain.field_paths import FieldPath
from service.error_reasons import ErrorReason
from service.errors import QUOTE_MARK

# The repeated field the write RPCs name `records`; the async items API's body names it by its collection.
RECORDS_FIELD = "records"
COLLECTION_KINDS = {
    "items": record_pb2.RECORD_KIND_ITEM,
    "variations": record_pb2.RECORD_KIND_VARIATION,
    "item_groups": record_pb2.RECORD_KIND_ITEM_GROUP,
}
_COMMON_KEYS = frozenset({"id", "name", "suggested_score", "data", "context", "timestamp", "expected_version"})
_KEYS_BY_KIND = {
    record_pb2.RECORD_KIND_ITEM: _COMMON_KEYS,
    record_pb2.RECORD_KIND_VARIATION: _COMMON_KEYS | {"item_id"},
    record_pb2.RECORD_KIND_ITEM_GROUP: _COMMON_KEYS | {"parent_ids"},
}
MAX_REPORTED_VIOLATIONS = 20


def collection_kind(collection: str) -> int:
    kind = COLLECTION_KINDS.get(collection)
    if kind is None:
        raise GatewayError.invalid_argument(
            "collection",
            "must be items, variations or item_groups",
            message=f"collection must be one of items, variations, item_groups (got {shown(collection)})",
        )
    return kind


def record_from_json(obj: Any, kind: int, where: str) -> tuple[record_pb2.Record, list[tuple[str, str]]]:
    """A record of the async items API as a proto Record, and the violations that name `where.field`."""
    record = record_pb2.Record(kind=kind)
    if not isinstance(obj, dict):
        return record, [(where, "must be a JSON object")]
    violations: list[tuple[str, str]] = []

    def bad(key: str, description: str) -> None:
        violations.append((f"{where}.{key}", description))

    for key in sorted(str(k) for k in obj.keys() - _KEYS_BY_KIND[kind]):
        bad(key, "unknown field; attributes go in data")
    if obj.get("id") is None:
        bad("id", "required")
    elif not isinstance(obj["id"], str):
        bad("id", "must be a string")
    else:
        record.id = obj["id"]
    allowed = _KEYS_BY_KIND[kind]
    for key in ("name", "context", "item_id"):
        value = obj.get(key)
        if value is None or key not in allowed:
            continue
        if isinstance(value, str):
            setattr(record, key, value)
        else:
            bad(key, "must be a string")
    score = obj.get("suggested_score")
    if score is not None:
        if isinstance(score, int | float) and not isinstance(score, bool):
            record.suggested_score = float(score)
        else:
            bad("suggested_score", "must be a number")
    parent_ids = obj.get("parent_ids")
    if parent_ids is not None and "parent_ids" in allowed:
        if isinstance(parent_ids, list) and all(isinstance(p, str) for p in parent_ids):
            record.parent_ids.extend(parent_ids)
        else:
            bad("parent_ids", "must be a list of strings")
    data = obj.get("data")
    if data is not None:
        if isinstance(data, dict):
            record.data_json = orjson.dumps(data).decode()
        else:
            bad("data", "must be a JSON object")
    expected = obj.get("expected_version")
    if expected is not None:
        if isinstance(expected, int) and not isinstance(expected, bool) and -1 <= expected < 2**63:
            record.expected_version = expected
        else:
            bad("expected_version", "must be a version, 0 (must not exist) or -1 (must exist)")
    timestamp = obj.get("timestamp")
    if timestamp is not None:
        try:
            if not isinstance(timestamp, str):
                raise ValueError(timestamp)
            record.timestamp.FromJsonString(timestamp)
        except ValueError:
            bad("timestamp", "must be an RFC 3339 date-time string")
    return record, violations


def records_request(request: Any, body: Any) -> set[str]:
    """`{"<collection>": [records...]}` into `records` of a Replace/Update/DeleteRecords request."""
    collection: str = request.collection
    kind = collection_kind(collection)
    if not isinstance(body, dict) or collection not in body:
        raise GatewayError.invalid_argument(
            collection, "required", message=f"the body must be a JSON object with the key {shown(collection)}"
        )
    if not isinstance(body[collection], list):
        raise GatewayError.invalid_argument(collection, "must be a list of records")
    violations: list[tuple[str, str]] = []
    for i, obj in enumerate(body[collection]):
        record, found = record_from_json(obj, kind, f"{collection}[{i}]")
        request.records.append(record)
        violations.extend(found)
    if violations:
        field, description = violations[0]
        raise GatewayError(
            400,
            "INVALID_ARGUMENT",
            f"{field}: {description}",
            reason=ErrorReason.INVALID_RECORD,
            field_violations=violations[:MAX_REPORTED_VIOLATIONS],
        )
    return {"records"}


def list_records_response(request: catalog_pb2.ListRecordsRequest, response: catalog_pb2.ListRecordsResponse) -> Any:
    """`{"<collection>": [records...], "total_count": N}` (+ `next_page_token` when there is a next page)."""
    out: dict[str, Any] = {
        request.collection: [record_to_json(r) for r in response.records],
        "total_count": response.total_count,
    }
    if response.next_page_token:
        out["next_page_token"] = response.next_page_token
    return out


def records_error(request: Any, body: dict[str, Any]) -> dict[str, Any]:
    """The server names `records[3].id`; the caller sent `items[3].id`: the path's first segment is renamed, in
    each violation and where the message starts with the first violation's path (`records[3].id: required`)."""
    collection = request.collection
    if collection not in COLLECTION_KINDS or "field_violations" not in body:
        return body
    body = dict(body)
    sent = [v["field"] for v in body["field_violations"]]
    renamed = [str(FieldPath.parse(field).renamed(RECORDS_FIELD, collection)) for field in sent]
    body["field_violations"] = [{**v, "field": f} for v, f in zip(body["field_violations"], renamed, strict=True)]
    # The message names the first violation's path, whole or (when that was quoted in the violation) longer.
    message = body.get("message", "")
    if sent[0] != renamed[0] and message.startswith(sent[0].removesuffix(QUOTE_MARK)):
        body["message"] = collection + message.removeprefix(RECORDS_FIELD)
    return body


_CATALOG = "/catalogingest.v1.CatalogService/"
_RECORDS_WRITE = Shape(request=records_request, error=records_error)

RECORD_SHAPES: dict[str, Shape] = {
    _CATALOG + "ListRecords": Shape(response=list_records_response, error=records_error),
    _CATALOG + "ReplaceRecords": _RECORDS_WRITE,
    _CATALOG + "UpdateRecords": _RECORDS_WRITE,
    _CATALOG + "DeleteRecords": _RECORDS_WRITE,
}
