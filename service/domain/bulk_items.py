"""Checks of the bulk per-item API: the whole request's limits, and each item on its own.

A whole-request problem refuses the request (INVALID_ARGUMENT). An item's problem fails that item
only; the others proceed. Problems are named by the part of the item they are in: "item" (its
structure), "item_id" or "properties", with messages worded as the document words them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from catalogingest.v1 import catalog_pb2
from service.db.backend import backend_of
from service.domain import values
from service.domain.field_types import FieldDef, check_properties
from service.domain.ids import id_problem
from service.domain.json_depth import TOO_DEEP, too_deep
from service.domain.records import canonical_json
from service.error_reasons import ErrorReason
from service.errors import InvalidArgument

ITEM = 1  # RecordKind RECORD_KIND_ITEM: the bulk per-item API writes items.


@dataclass
class ItemCheck:
    """One item's outcome: its problems, or its properties as canonical JSON when it has none."""

    violations: list[tuple[str, str]] = field(default_factory=list)
    properties_json: str = ""

    @property
    def valid(self) -> bool:
        return not self.violations


def check_request(items: Sequence[catalog_pb2.CatalogItem], *, max_items: int, max_bytes: int) -> None:
    """The limits of one request: number of items, and size of the item ids and properties together."""
    if len(items) > max_items:
        raise InvalidArgument(
            f"Too many items: at most {max_items} items per request (got {len(items)}).",
            reason=ErrorReason.TOO_MANY_ITEMS,
            metadata={"limit": str(max_items)},
            field_violations=[("items", f"at most {max_items} items per request")],
        )
    size = sum(len(item.item_id.encode()) + len(item.properties_json.encode()) for item in items)
    if size > max_bytes:
        raise InvalidArgument(
            f"Payload size exceeded: the items are {size} bytes, more than the limit of {max_bytes} bytes.",
            reason=ErrorReason.PAYLOAD_TOO_LARGE,
            metadata={"limit": str(max_bytes)},
            field_violations=[("items", f"at most {max_bytes} bytes of item ids and properties per request")],
        )


def check_item(item: catalog_pb2.CatalogItem, fields: dict[str, FieldDef], *, partial: bool) -> ItemCheck:
    """What is wrong with one item against the catalog's fields (a partial update needs no required field)."""
    result = ItemCheck(violations=[(v.field, v.description) for v in item.structure_violations])
    if item.HasField("expected_version") and item.expected_version < -1:
        result.violations.append(
            ("item", "The expected_version must be a version, 0 (must not exist) or -1 (must exist).")
        )
    reported = {name for name, _ in result.violations}
    if "item_id" not in reported:
        result.violations += [("item_id", problem) for problem in _item_id_problems(item.item_id)]
    if "properties" not in reported:
        properties, problems = _parse_properties(item.properties_json)
        if properties is not None and not problems:
            problems = check_properties(fields, properties, partial=partial)
        result.violations += [("properties", problem) for problem in problems]
        if properties is not None and not result.violations:
            result.properties_json = canonical_json(properties)
    return result


def _item_id_problems(item_id: str) -> list[str]:
    if not item_id.strip():
        return ["The item_id is required and must be a non-empty string."]
    if (problem := id_problem(item_id)) is not None:
        return [f"The item_id {values.show(item_id)} {problem}."]
    return []


def _parse_properties(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    if not text:
        return None, ["The properties object is required."]
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return None, [f"The properties are not valid JSON: {exc}."]
    if not isinstance(value, dict):
        return None, [f"The properties must be a JSON object, got {_json_kind(value)}."]
    if too_deep(value, text):
        return None, [f"The properties are {TOO_DEEP}."]
    # R5: NUL, and numbers that would not read back as sent, are refused on both backends alike.
    _, problems = values.check(value, "")
    return value, [f"The property '{path}' {problem}." for path, problem in problems]


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string" if isinstance(value, str) else "an array"


async def existing_item_ids(
    bind: AsyncSession | AsyncConnection, version_id: int | None, ids: Sequence[str]
) -> set[str]:
    """Which of `ids` are items of the catalog version (each backend reads them its own fastest way)."""
    if version_id is None or not ids:
        return set()
    return await backend_of(bind).existing_item_ids(bind, version_id, list(dict.fromkeys(ids)))
