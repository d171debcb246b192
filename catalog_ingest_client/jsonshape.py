"""Messages as the REST gateway writes them, for callers that want one JSON shape whichever way they went:
64-bit integers as numbers, enum values without their type prefix (`DONE`), proto field names, every
scalar written, and records in the `/v2` shape."""

from __future__ import annotations

import re
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from catalogingest.v1 import record_pb2

_INT64 = frozenset({FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT64})
_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def message_to_json(message: Message) -> dict[str, Any]:
    raw = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return _fix_message(raw, message.DESCRIPTOR)


def record_to_json(record: record_pb2.Record) -> dict[str, Any]:
    """A Record in the shape of GET /v2/{collection}: the gateway answers with this very function."""
    out: dict[str, Any] = {"id": record.id, "name": record.name if record.HasField("name") else None}
    if record.HasField("suggested_score"):
        out["suggested_score"] = record.suggested_score
    if record.kind == record_pb2.RECORD_KIND_VARIATION:
        out["item_id"] = record.item_id if record.HasField("item_id") else None
    if record.kind == record_pb2.RECORD_KIND_ITEM_GROUP:
        out["parent_ids"] = list(record.parent_ids)
    if record.context:
        out["context"] = record.context
    out["data"] = orjson.loads(record.data_json) if record.data_json else {}
    if record.version:  # a stored record (a read): its version and when a write last changed it
        out["version"] = record.version
        out["update_time"] = record.update_time.ToJsonString()
    return out


def _fix_message(value: dict[str, Any], descriptor: Descriptor) -> dict[str, Any]:
    for field in descriptor.fields:
        if field.name not in value:
            continue
        item = value[field.name]
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            inner = field.message_type.fields_by_name["value"]
            value[field.name] = {k: _fix_value(v, inner) for k, v in item.items()}
        elif field.is_repeated:
            value[field.name] = [_fix_value(v, field) for v in item]
        else:
            value[field.name] = _fix_value(item, field)
    return value


def _fix_value(value: Any, field: FieldDescriptor) -> Any:
    if field.cpp_type in _INT64:
        return int(value)
    if field.enum_type is not None and isinstance(value, str):
        prefix = _WORD_BOUNDARY.sub("_", field.enum_type.name).upper() + "_"
        return value.removeprefix(prefix) if value != prefix else value
    if field.message_type is None or field.message_type.full_name.startswith("google.protobuf."):
        return value
    return _fix_message(value, field.message_type)
