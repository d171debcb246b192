"""JSON Schemas of proto messages as the gateway writes and reads them (see gateway/responses.py).

64-bit integers are numbers, enum values lose their type prefix (`DONE`), field names are the proto
names or, for the camel-case services, lowerCamelCase. Timestamps are RFC 3339 strings. Every field is
optional: unset messages and optional fields are left out.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from gateway.enums import short_name

_INTEGERS = {
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_SINT64: "int64",
    FieldDescriptor.TYPE_SFIXED64: "int64",
    FieldDescriptor.TYPE_UINT64: "int64",
    FieldDescriptor.TYPE_FIXED64: "int64",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_SINT32: "int32",
    FieldDescriptor.TYPE_SFIXED32: "int32",
    FieldDescriptor.TYPE_UINT32: "int32",
    FieldDescriptor.TYPE_FIXED32: "int32",
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?\d+(\.\d+)?s$"},
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.Empty": {"type": "object"},
}


def enum_values(enum: EnumDescriptor) -> list[str]:
    """The names the gateway writes, the UNSPECIFIED value included (a field left at zero shows it)."""
    return [short_name(enum, value.name) for value in enum.values]


class SchemaRegistry:
    """Collects one named schema per message (and per case style) under components/schemas."""

    def __init__(self) -> None:
        self.schemas: dict[str, dict[str, Any]] = {}
        self._names: dict[tuple[str, bool], str] = {}

    def ref(self, message: Descriptor, *, camel_case: bool = False) -> dict[str, Any]:
        if message.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[message.full_name])
        camel_case = camel_case and _has_multiword_field(message)
        name = self._names.get((message.full_name, camel_case))
        if name is None:
            name = message.name if message.name not in self.schemas else message.name + "Camel"
            self._names[(message.full_name, camel_case)] = name
            self.schemas[name] = {}  # placeholder: recursion stops here
            self.schemas[name] = self._message(message, camel_case)
        return {"$ref": f"#/components/schemas/{name}"}

    def field(self, field: FieldDescriptor, *, camel_case: bool = False) -> dict[str, Any]:
        """A field's schema (arrays and maps included)."""
        message = field.message_type
        if message is not None and message.GetOptions().map_entry:
            value = self._single(message.fields_by_name["value"], camel_case)
            return {"type": "object", "additionalProperties": value}
        single = self._single(field, camel_case)
        if field.is_repeated:
            return {"type": "array", "items": single}
        return single

    def _single(self, field: FieldDescriptor, camel_case: bool) -> dict[str, Any]:
        if field.message_type is not None:
            return self.ref(field.message_type, camel_case=camel_case)
        if field.enum_type is not None:
            return {"type": "string", "enum": enum_values(field.enum_type)}
        if field.type in _INTEGERS:
            return {"type": "integer", "format": _INTEGERS[field.type]}
        if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            return {"type": "number"}
        if field.type == FieldDescriptor.TYPE_BOOL:
            return {"type": "boolean"}
        if field.type == FieldDescriptor.TYPE_BYTES:
            return {"type": "string", "contentEncoding": "base64"}
        return {"type": "string"}

    def _message(self, message: Descriptor, camel_case: bool) -> dict[str, Any]:
        properties = {
            (f.json_name if camel_case else f.name): self.field(f, camel_case=camel_case) for f in message.fields
        }
        return {"type": "object", "properties": properties}


def _has_multiword_field(message: Descriptor) -> bool:
    return any(f.json_name != f.name for f in message.fields)


def query_schema(field: FieldDescriptor) -> dict[str, Any]:
    """A query parameter's schema: enums by name, booleans and numbers as the binding parses them."""
    registry = SchemaRegistry()
    if field.message_type is not None:
        return dict(_WELL_KNOWN.get(field.message_type.full_name, {"type": "string"}))
    single = registry._single(field, camel_case=False)
    if field.enum_type is not None:
        single = {"type": "string", "enum": enum_values(field.enum_type)[1:]}
    return {"type": "array", "items": single} if field.is_repeated else single
