"""Shapes of the bulk per-item catalog API (/data/v2/projects/{project_id}/catalogs/...).

The document's body is a bare JSON array of `{"item_id", "properties"}`; its answer is a bare array of
`{"success": "True"|"False", "queued": ..., "errors": {"properties": [...]}}` (strings, as the document
writes them), and its whole-request errors are 400s with a JSON message. The server validates the items;
the gateway only maps JSON onto CatalogItem and reports what that message cannot carry (unknown keys,
an item_id that is not a string) as the item's structure violations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request

from catalogingest.v1 import catalog_pb2
from gateway.body import read_body
from gateway.errors import GatewayError
from gateway.runtime import runtime_of
from gateway.shapes.shape import Shape
from service.error_reasons import ErrorReason

ITEM_KEYS = frozenset({"item_id", "properties", "expected_version"})
# How gateway.body.parse_json words a body that is not JSON.
_NOT_JSON = "body: not valid JSON: "


async def read_bulk_body(request: Request) -> bytes:
    """The body up to `bulk_max_body_bytes`; past it the document's answer is a 400, not a 413."""
    limit = runtime_of(request).settings.bulk_max_body_bytes
    try:
        return await read_body(request, limit)
    except GatewayError as error:
        if error.status != 413:
            raise
        raise GatewayError(
            400,
            "INVALID_ARGUMENT",
            f"Payload size exceeded: the body must not be larger than {limit} bytes.",
            reason=ErrorReason.PAYLOAD_TOO_LARGE,
        ) from None


def bulk_items_request(request: Any, body: Any) -> set[str]:
    """A JSON array of items into `items`; anything but an array of objects refuses the whole request."""
    if not isinstance(body, list):
        raise _bad_request("Payload not a list: the body must be a JSON array of items.", ErrorReason.NOT_A_LIST)
    for i, obj in enumerate(body):
        if not isinstance(obj, dict):
            raise _bad_request(
                f"Item parsing error: item {i} is not a JSON object with item_id and properties.",
                ErrorReason.ITEM_PARSING_ERROR,
            )
        request.items.append(item_from_json(obj))
    return {"items"}


def item_from_json(obj: dict[str, Any]) -> catalog_pb2.CatalogItem:
    item = catalog_pb2.CatalogItem()
    unknown = sorted(str(k) for k in obj.keys() - ITEM_KEYS)
    if unknown:
        item.structure_violations.add(
            field="item",
            description=f"Unknown keys {unknown}: an item has only item_id, properties and expected_version.",
        )
    item_id = obj.get("item_id")
    if isinstance(item_id, str):
        item.item_id = item_id
    elif item_id is not None:
        shown = orjson.dumps(item_id).decode()[:60]
        item.structure_violations.add(field="item_id", description=f"The item_id must be a string, got {shown}.")
    expected = obj.get("expected_version")
    if isinstance(expected, int) and not isinstance(expected, bool) and -1 <= expected < 2**63:
        item.expected_version = expected
    elif expected is not None:
        item.structure_violations.add(
            field="item", description="The expected_version must be a version, 0 (must not exist) or -1 (must exist)."
        )
    if "properties" in obj:
        item.properties_json = orjson.dumps(obj["properties"]).decode()
    return item


def _bad_request(message: str, reason: ErrorReason) -> GatewayError:
    return GatewayError(400, "INVALID_ARGUMENT", message, reason=reason)


def bulk_items_response(request: Any, response: Any) -> list[dict[str, Any]]:
    return [result_to_json(result) for result in response.results]


def result_to_json(result: catalog_pb2.CatalogItemResult) -> dict[str, Any]:
    out: dict[str, Any] = {"success": str(result.success), "queued": str(result.queued)}
    if result.errors:
        errors: dict[str, list[str]] = {}
        for violation in result.errors:
            errors.setdefault(violation.field, []).append(violation.description)
        out["errors"] = errors
    return out


def task_id_header(request: Any, response: Any) -> Mapping[str, str]:
    """The task that applies the valid items; none when no item was valid."""
    return {"X-Task-Id": str(response.task_id)} if response.task_id else {}


def message_error(request: Any, body: dict[str, Any]) -> dict[str, Any]:
    """Errors of these paths are `{"message": ...}`; the server names `catalog.fields[i]`, the caller sent
    `fields[i]` in the body."""
    message = str(body.get("message", ""))
    if message.startswith(_NOT_JSON):
        return {"message": "Invalid JSON: " + message.removeprefix(_NOT_JSON)}
    if message.startswith("catalog.") and isinstance(request, catalog_pb2.CreateCatalogDefinitionRequest):
        message = message.removeprefix("catalog.")
    return {"message": message}


_CATALOG = "/catalogingest.v1.CatalogService/"
_BULK = Shape(
    request=bulk_items_request,
    response=bulk_items_response,
    headers=task_id_header,
    error=message_error,
    body_reader=read_bulk_body,
)
_DEFINITION = Shape(error=message_error)

BULK_ITEM_SHAPES: dict[str, Shape] = {
    _CATALOG + "CreateCatalogDefinition": _DEFINITION,
    _CATALOG + "GetCatalogDefinition": _DEFINITION,
    _CATALOG + "ListCatalogDefinitions": _DEFINITION,
    _CATALOG + "AddCatalogFields": _DEFINITION,
    _CATALOG + "BulkReplaceCatalogItems": _BULK,
    _CATALOG + "BulkUpdateCatalogItems": _BULK,
}
