"""Catalog field definitions and the checks a record's properties must pass against them.

The types are those of the bulk per-item catalog API: dates and datetimes are UNIX timestamps
(the document: "Catalog fields with Date data-type only accepts UNIX timestamps via API"), a
duration is a number of seconds. `None` clears a property of any type unless the field is required.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from service.domain import values
from service.error_reasons import ErrorReason
from service.errors import FailedPrecondition, InvalidArgument

MAX_FIELD_NAME = 100
MAX_STRING = 1000
# 9999-12-31T23:59:59Z: later timestamps are almost certainly milliseconds sent as seconds.
MAX_UNIX_SECONDS = 253_402_300_799
MAX_UNDEFINED_REPORTED = 20


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_string(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > MAX_STRING:
        return f"must be at most {MAX_STRING} characters (use the 'long text' type for longer values)"
    return None


def _check_long_text(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def _check_number(value: Any) -> str | None:
    return None if _is_number(value) else "must be a number"


def _check_boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _check_timestamp(value: Any) -> str | None:
    if not _is_number(value):
        return "must be a UNIX timestamp (seconds since 1970-01-01 UTC, a number)"
    if not 0 <= value <= MAX_UNIX_SECONDS:
        return "must be a UNIX timestamp in seconds between 0 and 253402300799"
    return None


def _check_duration(value: Any) -> str | None:
    return None if _is_number(value) and value >= 0 else "must be a non-negative number of seconds"


def _check_list(value: Any) -> str | None:
    if not isinstance(value, list):
        return "must be a list"
    if any(isinstance(v, dict | list) for v in value):
        return "must be a list of strings, numbers or booleans"
    return None


def _check_url(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a URL string"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        return "must be an absolute http or https URL"
    return None


def _check_json(value: Any) -> str | None:
    return None


CHECKS: dict[str, Callable[[Any], str | None]] = {
    "string": _check_string,
    "long text": _check_long_text,
    "number": _check_number,
    "boolean": _check_boolean,
    "date": _check_timestamp,
    "datetime": _check_timestamp,
    "duration": _check_duration,
    "list": _check_list,
    "url": _check_url,
    "json": _check_json,
}
FIELD_TYPES: tuple[str, ...] = tuple(CHECKS)


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    searchable: bool = False
    required: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "searchable": self.searchable, "required": self.required}


def parse_fields(obj: Any, where: str = "fields") -> list[FieldDef]:
    """Field definitions from `[{"name", "type", "searchable"?, "required"?}]`; every problem is named."""
    if not isinstance(obj, list):
        raise InvalidArgument(
            f"{where} must be a list of field definitions", field_violations=[(where, "must be a list")]
        )
    violations: list[tuple[str, str]] = []
    fields: list[FieldDef] = []
    seen: set[str] = set()
    for i, item in enumerate(obj):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            violations.append((at, "must be an object with name and type"))
            continue
        unknown = sorted(str(k) for k in item.keys() - {"name", "type", "searchable", "required"})
        violations.extend((f"{at}.{k}", "unknown key") for k in unknown)
        name, type_ = item.get("name"), item.get("type")
        if not isinstance(name, str) or not name.strip():
            violations.append((f"{at}.name", "required, a non-empty string"))
        elif len(name) > MAX_FIELD_NAME:
            violations.append((f"{at}.name", f"must be at most {MAX_FIELD_NAME} characters"))
        elif (problem := values.text_problem(name)) is not None:  # stored as JSON text: no NUL on PostgreSQL
            violations.append((f"{at}.name", problem))
        elif name in seen:
            violations.append((f"{at}.name", f"duplicate field name '{name}'"))
        if type_ not in CHECKS:
            violations.append((f"{at}.type", f"must be one of {', '.join(FIELD_TYPES)} (got {values.show(type_)})"))
        flags = {}
        for flag in ("searchable", "required"):
            value = item.get(flag, False)
            if not isinstance(value, bool):
                violations.append((f"{at}.{flag}", "must be true or false"))
            flags[flag] = value is True
        if isinstance(name, str):
            seen.add(name)
        if isinstance(name, str) and type_ in CHECKS:
            fields.append(FieldDef(name, type_, **flags))
    if violations:
        field, description = violations[0]
        raise InvalidArgument(f"{field}: {description}", field_violations=violations)
    return fields


def stored_fields(field_schema: Any) -> dict[str, FieldDef]:
    """The fields of `catalogs.field_schema` (None for a catalog without a schema), by name."""
    return {f["name"]: FieldDef(**f) for f in field_schema or ()}


def schema_json(fields: dict[str, FieldDef]) -> list[dict[str, Any]]:
    return [f.to_json() for f in fields.values()]


def add_fields(existing: dict[str, FieldDef], added: list[FieldDef]) -> dict[str, FieldDef]:
    """`existing` plus the new fields; a field may be restated but its type never changes."""
    merged = dict(existing)
    for field in added:
        current = merged.get(field.name)
        if current is not None and current.type != field.type:
            raise FailedPrecondition(
                f"field '{field.name}' is of type '{current.type}' and cannot become '{field.type}';"
                " a field's type cannot change",
                reason=ErrorReason.FIELD_TYPE_CHANGE,
                metadata={"field": field.name, "type": current.type, "requested_type": field.type},
            )
        merged[field.name] = field
    return merged


def check_properties(fields: dict[str, FieldDef], properties: dict[str, Any], *, partial: bool) -> list[str]:
    """What is wrong with `properties` against `fields`, as messages for the caller; [] when valid.

    A catalog without fields accepts any properties.
    """
    if not fields:
        return []
    errors: list[str] = []
    undefined = [name for name in properties if name not in fields]
    if undefined:
        shown = undefined[:MAX_UNDEFINED_REPORTED]
        more = f" (and {len(undefined) - len(shown)} more)" if len(undefined) > len(shown) else ""
        # The document's wording, list brackets and quotes included.
        errors.append(f"Fields {shown!r} are not properly defined.{more}")
    for name, value in properties.items():
        field = fields.get(name)
        if field is None:
            continue
        if value is None:
            if field.required:
                errors.append(f"Field '{name}' is required and cannot be null.")
            continue
        problem = CHECKS[field.type](value)
        if problem is not None:
            errors.append(f"Field '{name}' ({field.type}) {problem}, got {values.show(value)}.")
    if not partial:
        errors.extend(
            f"Field '{f.name}' is required." for f in fields.values() if f.required and f.name not in properties
        )
    return errors
