"""Shapes of the batch imports API (/batch-imports, /catalogs).

The items calls take a top-level JSON array and answer one result per element, so an element that
proto JSON could not parse (not an object, a field of the wrong type) is refused on its own, with
code 5, rather than failing the whole call.
"""

from __future__ import annotations

from typing import Any

import orjson

from catalogingest.v1 import batch_pb2
from gateway.binding import bind_body
from gateway.errors import GatewayError
from gateway.responses import render
from gateway.shapes.shape import Shape

_STRING_FIELDS = (("id", "id"), ("type", "type"), ("context", "context"), ("timestamp", "timestamp"))
# The keys of a batch item the document defines; any other is passed on to be warned about.
_ITEM_KEYS = frozenset({key for key, _ in _STRING_FIELDS} | {"parentId", "attributes"})


def item_from_json(obj: Any) -> batch_pb2.BatchItem:
    item = batch_pb2.BatchItem()
    if not isinstance(obj, dict):
        item.malformed = "an item must be a JSON object"
        return item
    problems: list[str] = []
    for key, field in _STRING_FIELDS:
        value = obj.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            setattr(item, field, value)
        else:
            problems.append(f"{key} must be a string")
    parent = obj.get("parentId")
    if isinstance(parent, str):
        item.parent_id = parent
    elif parent is not None:
        problems.append("parentId must be a string")
    if obj.get("attributes") is not None:
        # JSON text; the server checks it is an object.
        item.attributes_json = orjson.dumps(obj["attributes"]).decode()
    if problems:
        item.malformed = "; ".join(problems)
    item.unknown_keys.extend(key for key in obj if key not in _ITEM_KEYS)
    return item


def items_request(request: Any, body: Any) -> set[str]:
    """A top-level JSON array of items into `items`."""
    if not isinstance(body, list):
        raise GatewayError.invalid_argument(
            "body", "must be a JSON array of items", message="the body must be a JSON array of items"
        )
    request.items.extend(item_from_json(obj) for obj in body)
    return {"items"}


def ingestion_request(request: Any, body: Any) -> set[str]:
    """The document's own sample sends `"catalogVersion": 2` (a number) for the string field."""
    version = body.get("catalogVersion") if isinstance(body, dict) else None
    if isinstance(version, int | float) and not isinstance(version, bool):
        body = {**body, "catalogVersion": str(int(version)) if float(version).is_integer() else str(version)}
    if body is None:
        body = {}
    return bind_body(request, body, "*")


def items_response(request: Any, response: Any) -> list[dict[str, Any]]:
    """One result per item; `warnings` only on an item that has some."""
    results = render(response, response_body="results", camel_case=True)
    for result in results:
        if not result.get("warnings"):
            result.pop("warnings", None)
    return results


_BATCH = "/catalogingest.v1.BatchService/"
_ITEMS = Shape(request=items_request, response=items_response)

BATCH_SHAPES: dict[str, Shape] = {
    _BATCH + "AddBatchItems": _ITEMS,
    _BATCH + "UpdateBatchItems": _ITEMS,
    _BATCH + "DeleteBatchItems": _ITEMS,
    _BATCH + "CreateIngestion": Shape(request=ingestion_request),
}
