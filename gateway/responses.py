"""Response messages to JSON as the documents show them, and the JSON responses the gateway sends.

Proto JSON with three changes: 64-bit integers are numbers (not strings), enum values lose their type
prefix (`DONE`, not `TASK_STATUS_DONE`), and field names are the proto names unless asked for lowerCamelCase.
Scalars at their default values are written; unset messages and optional fields are not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from starlette.responses import Response

from gateway.enums import short_name
from gateway.errors import GatewayError

_INT64_TYPES = frozenset({FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT64})
_INT64_WRAPPERS = frozenset({"google.protobuf.Int64Value", "google.protobuf.UInt64Value"})


class JSONResponse(Response):
    """A JSON response serialized with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def message_to_json(message: Message, *, camel_case: bool = False) -> dict[str, Any]:
    """One message as a JSON-ready dict (see the module docstring for how it differs from proto JSON)."""
    raw = json_format.MessageToDict(
        message,
        preserving_proto_field_name=not camel_case,
        always_print_fields_with_no_presence=True,
    )
    return _fix_message(raw, message.DESCRIPTOR, camel_case)


def render(message: Message, *, response_body: str = "", camel_case: bool = False) -> Any:
    """The JSON of a response: the whole message, or the field that `response_body` names."""
    value: Any = message_to_json(message, camel_case=camel_case)
    descriptor: Descriptor | None = message.DESCRIPTOR
    for name in response_body.split(".") if response_body else ():
        assert descriptor is not None
        field = descriptor.fields_by_name[name]
        key = field.json_name if camel_case else field.name
        if key not in value:  # an unset message field
            return None
        value = value[key]
        descriptor = field.message_type
    return value


def json_response(content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse(content, status_code=status_code, headers=dict(headers or {}))


def error_response(error: GatewayError, body: Mapping[str, Any] | None = None) -> Response:
    """The HTTP answer for an error; `body` replaces the default body where a document shows another."""
    return json_response(dict(body) if body is not None else error.body(), error.status, error.headers)


def _fix_message(value: dict[str, Any], descriptor: Descriptor, camel_case: bool) -> dict[str, Any]:
    for field in descriptor.fields:
        key = field.json_name if camel_case else field.name
        if key in value:
            value[key] = _fix_field(value[key], field, camel_case)
    return value


def _fix_field(value: Any, field: FieldDescriptor, camel_case: bool) -> Any:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value_field = field.message_type.fields_by_name["value"]
        return {k: _fix_value(v, value_field, camel_case) for k, v in value.items()}
    if field.is_repeated:
        return [_fix_value(v, field, camel_case) for v in value]
    return _fix_value(value, field, camel_case)


def _fix_value(value: Any, field: FieldDescriptor, camel_case: bool) -> Any:
    if field.cpp_type in _INT64_TYPES:
        return int(value)
    if field.cpp_type == FieldDescriptor.CPPTYPE_ENUM:
        return short_name(field.enum_type, value) if isinstance(value, str) else value
    message_type = field.message_type
    if message_type is None:
        return value
    if message_type.full_name in _INT64_WRAPPERS:
        return int(value)
    if message_type.full_name.startswith("google.protobuf."):
        return value  # well-known types keep their proto JSON (Timestamp as RFC 3339, Struct as JSON)
    return _fix_message(value, message_type, camel_case)
