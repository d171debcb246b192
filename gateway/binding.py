"""HTTP request parts into the request message (model: grpc-gateway runtime/query.go).

Path variables fill their fields; a JSON body fills the message (`body: "*"`) or one field; query
parameters fill the fields bound by neither. A query parameter that names no field of the request (a typo
such as `forse=true`), a value that cannot be parsed, or a value holding NUL is a 400 naming the parameter.
Values are quoted as JSON in messages (the callers are JSON clients, not Python).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from gateway.enums import parse_enum, short_name
from gateway.errors import GatewayError

_INTEGER = re.compile(r"[+-]?\d+")
_INT_RANGES = {
    FieldDescriptor.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.CPPTYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.CPPTYPE_UINT64: (0, 2**64 - 1),
}
# strconv.ParseBool's spellings, which the documents' `force=True` is one of.
_BOOLS = {"1": True, "t": True, "true": True, "0": False, "f": False, "false": False}
_WRAPPERS = frozenset(
    f"google.protobuf.{n}Value"
    for n in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
)
_EXPECTED = {"google.protobuf.Timestamp": "an RFC 3339 date-time", "google.protobuf.Duration": "a duration"}
_JSON_STRING_TYPES = frozenset({"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"})


def shown(value: Any) -> str:
    """A value as JSON text for an error message (never a Python repr), cut to a readable length."""
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= 80 else text[:77] + "..."


def _no_nul(param: str, value: str) -> None:
    if "\x00" in value:
        raise GatewayError.invalid_argument(param, "must not contain NUL (U+0000)")


def bind_path(message: Message, variables: Mapping[str, str]) -> set[str]:
    """Sets each path variable's field; returns the top-level field names bound."""
    for field_path, value in variables.items():
        _no_nul(field_path, value)
        target, field = _resolve(message, field_path)
        if field is None:
            raise GatewayError.invalid_argument(field_path, "is not a field of the request")
        _set(target, field, [value], field_path)
    return {field_path.split(".")[0] for field_path in variables}


def bind_query(message: Message, params: Iterable[tuple[str, str]], exclude: Collection[str] = ()) -> None:
    """Sets fields from query parameters (proto or JSON names, dotted for nested fields).

    A parameter whose first name component is in `exclude` (bound by path or body) is ignored; one that
    names no field is a 400 listing the parameters the route takes. A repeated field takes every value;
    a singular field given twice is an error.
    """
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    check_query(message.DESCRIPTOR, params, exclude)
    for name, values in grouped.items():
        first = _field(message.DESCRIPTOR, name.split(".")[0])
        assert first is not None
        if first.name in exclude:
            continue
        target, field = _resolve(message, name)
        assert field is not None
        _set(target, field, values, name)


def check_query(descriptor: Descriptor, params: Iterable[tuple[str, str]], exclude: Collection[str] = ()) -> None:
    """400 for a parameter that names no field of the request or holds NUL: callable before the body is read."""
    seen: dict[str, int] = {}
    for name, value in params:
        _no_nul(name, name)
        index = seen[name] = seen.get(name, -1) + 1
        field = _field(descriptor, name.split(".")[0])
        # a repeated parameter (`id=a&id=b`) is named with its index, as the server names `id[1]`
        _no_nul(f"{name}[{index}]" if field is not None and field.is_repeated else name, value)
        if field is None or not _is_path_to_field(descriptor, name.split(".")):
            known = ", ".join(sorted(f.name for f in descriptor.fields if f.name not in exclude and _from_query(f)))
            takes = f"this route takes: {known}" if known else "this route takes no query parameters"
            raise GatewayError.invalid_argument(name, f"unknown query parameter; {takes}")


def _from_query(field: FieldDescriptor) -> bool:
    """Whether a query parameter can set the field (what an unknown-parameter error lists)."""
    if field.message_type is None:
        return True
    full_name = field.message_type.full_name
    return not field.is_repeated and (full_name in _WRAPPERS or full_name in _JSON_STRING_TYPES)


def bind_body(message: Message, body: Any, body_field: str) -> set[str]:
    """Fills the message (`body_field == "*"`) or one field from parsed JSON; returns the fields bound."""
    if body is None:
        return set()
    if body_field == "*":
        if not isinstance(body, dict):
            raise GatewayError.invalid_argument("body", "must be a JSON object")
        payload = body
    else:
        payload = {body_field: body}
    payload = _expand_enum_names(payload, message.DESCRIPTOR)
    try:
        json_format.ParseDict(payload, message)
    except json_format.ParseError as exc:
        raise _body_error(exc, payload, message.DESCRIPTOR, body_field) from None
    bound = {_field(message.DESCRIPTOR, key) for key in payload}
    return {field.name for field in bound if field is not None}


_PARSE_FAILED = re.compile(r"Failed to parse (\w+) field")
_NO_FIELD = re.compile(r'has no field named "([^"]+)"')
_NO_FIELD_AT = re.compile(r'has no field named "[^"]+" at "([^"]+)"')
_ABSENT = object()
_EXPECTED_JSON = {
    FieldDescriptor.CPPTYPE_STRING: "a string",
    FieldDescriptor.CPPTYPE_BOOL: "a boolean",
    FieldDescriptor.CPPTYPE_DOUBLE: "a number",
    FieldDescriptor.CPPTYPE_FLOAT: "a number",
    FieldDescriptor.CPPTYPE_MESSAGE: "a JSON object",
}


def _body_error(
    exc: json_format.ParseError, payload: dict[str, Any], descriptor: Descriptor, body_field: str
) -> GatewayError:
    """json_format's message (Python reprs, proto type names) as a 400 naming the body field in JSON terms:
    `fields[0].nme`, `minItemCount`, with the value sent rendered as JSON."""
    text = str(exc)
    wrapper = [] if body_field == "*" else [body_field]  # the body of a `body: "field"` rule is that field
    unknown = _NO_FIELD.search(text)
    if unknown:
        where = _NO_FIELD_AT.search(text)
        parts = where.group(1).split(".")[1 + len(wrapper) :] if where else []
        owner = _descriptor_at(descriptor, [*wrapper, *(p.split("[")[0] for p in parts)])
        name = ".".join([*parts, unknown.group(1)])
        known = ", ".join(sorted(f.json_name for f in owner.fields)) if owner is not None else ""
        return GatewayError.invalid_argument(name, f"unknown field; the fields here are: {known}")
    names = _PARSE_FAILED.findall(text)
    field: FieldDescriptor | None = None
    current: Descriptor | None = descriptor
    value: Any = payload
    for name in names:
        field = _field(current, name) if current is not None else None
        if field is None:
            break
        value = value.get(name, _ABSENT) if isinstance(value, dict) else _ABSENT
        current = field.message_type
    if field is None:
        return GatewayError.invalid_argument("body", "does not match the request: check the field names and types")
    if field.cpp_type == FieldDescriptor.CPPTYPE_ENUM:
        expected = "one of " + ", ".join(
            short_name(field.enum_type, v.name) for v in field.enum_type.values if v.number
        )
    elif field.message_type is not None and field.message_type.full_name in _EXPECTED:
        expected = _EXPECTED[field.message_type.full_name]
    else:
        expected = _EXPECTED_JSON.get(field.cpp_type, "an integer")
    if field.is_repeated:
        expected = f"a list whose values are each {expected}"
    name = ".".join(names[len(wrapper) :]) or "body"
    got = f", got {shown(value)}" if value is not _ABSENT else ""
    return GatewayError.invalid_argument(name, f"must be {expected}{got}")


def _descriptor_at(descriptor: Descriptor, names: list[str]) -> Descriptor | None:
    current: Descriptor | None = descriptor
    for name in names:
        field = _field(current, name) if current is not None else None
        current = field.message_type if field is not None else None
    return current


def parse_scalar(field: FieldDescriptor, text: str, param: str) -> Any:
    """One query or path value as the Python value of a scalar or enum field; 400 naming `param` if bad."""
    cpp = field.cpp_type
    if cpp == FieldDescriptor.CPPTYPE_STRING:
        if field.type != FieldDescriptor.TYPE_BYTES:
            return text
        try:
            padded = text + "=" * (-len(text) % 4)
            return base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
        except (binascii.Error, ValueError):
            raise GatewayError.invalid_argument(param, f"not valid base64: {shown(text)}") from None
    if cpp in _INT_RANGES:
        low, high = _INT_RANGES[cpp]
        if not _INTEGER.fullmatch(text.strip()) or not low <= int(text) <= high:
            raise GatewayError.invalid_argument(param, f"not an integer in [{low}, {high}]: {shown(text)}")
        return int(text)
    if cpp in (FieldDescriptor.CPPTYPE_DOUBLE, FieldDescriptor.CPPTYPE_FLOAT):
        try:
            return float(text)
        except ValueError:
            raise GatewayError.invalid_argument(param, f"not a number: {shown(text)}") from None
    if cpp == FieldDescriptor.CPPTYPE_BOOL:
        if text.strip().lower() not in _BOOLS:
            raise GatewayError.invalid_argument(param, f"not a boolean (true, false, 1, 0): {shown(text)}")
        return _BOOLS[text.strip().lower()]
    if cpp == FieldDescriptor.CPPTYPE_ENUM:
        number = parse_enum(field.enum_type, text)
        if number is None:
            # As the documents write them (RUNNING, not INGESTION_STATUS_RUNNING); 0 is "unset", not a choice.
            names = ", ".join(short_name(field.enum_type, v.name) for v in field.enum_type.values if v.number)
            raise GatewayError.invalid_argument(param, f"not one of {names}: {shown(text)}")
        return number
    raise GatewayError.invalid_argument(param, "cannot be set from a query parameter")


def _set(target: Message, field: FieldDescriptor, values: list[str], param: str) -> None:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        raise GatewayError.invalid_argument(param, "a map cannot be set from a query parameter")
    if not field.is_repeated and len(values) > 1:
        raise GatewayError.invalid_argument(param, "given more than once")
    if field.cpp_type != FieldDescriptor.CPPTYPE_MESSAGE:
        parsed = [parse_scalar(field, v, param) for v in values]
        if field.is_repeated:
            getattr(target, field.name).extend(parsed)
        else:
            setattr(target, field.name, parsed[0])
        return
    for value in values:
        sub = getattr(target, field.name).add() if field.is_repeated else getattr(target, field.name)
        _set_message(sub, value, param)


def _set_message(sub: Message, text: str, param: str) -> None:
    full_name = sub.DESCRIPTOR.full_name
    if full_name in _WRAPPERS:
        value_field = sub.DESCRIPTOR.fields_by_name["value"]
        sub.value = parse_scalar(value_field, text, param)  # type: ignore[attr-defined]
        return
    if full_name not in _JSON_STRING_TYPES:
        raise GatewayError.invalid_argument(param, "cannot be set from a query parameter")
    candidates = [text]
    if full_name == "google.protobuf.Timestamp" and " " in text:
        candidates.append(text.replace(" ", "+"))  # an unencoded "+02:00" arrives as " 02:00"
    for candidate in candidates:
        try:
            sub.FromJsonString(candidate)  # type: ignore[attr-defined]
            return
        except ValueError:
            continue
    expected = _EXPECTED.get(full_name, "a field mask")
    raise GatewayError.invalid_argument(param, f"not {expected}: {shown(text)}")


def _field(descriptor: Descriptor, name: str) -> FieldDescriptor | None:
    return (
        descriptor.fields_by_name.get(name)
        or descriptor.fields_by_camelcase_name.get(name)
        or _by_json_name(descriptor).get(name)
    )


@functools.cache
def _by_json_name(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    """Fields by a json_name of their own and its snake_case form: `validate_only` (AIP-163) is `dryRun` in a
    JSON body and `dry_run` in a query."""
    names: dict[str, FieldDescriptor] = {}
    for field in descriptor.fields:
        names[field.json_name] = field
        names[re.sub("([A-Z])", lambda m: "_" + m.group(1).lower(), field.json_name)] = field
    return names


def _is_path_to_field(descriptor: Descriptor, names: list[str]) -> bool:
    """Whether a dotted name reaches a field through singular, non-well-known message fields."""
    current: Descriptor | None = descriptor
    for i, name in enumerate(names):
        field = _field(current, name) if current is not None else None
        if field is None:
            return False
        if i < len(names) - 1:
            if field.is_repeated or field.message_type is None or field.message_type.full_name in _WRAPPERS:
                return False
            current = field.message_type
    return True


def _resolve(message: Message, dotted: str) -> tuple[Message, FieldDescriptor | None]:
    """The message that holds the last field of a dotted name (creating sub-messages) and that field."""
    names = dotted.split(".")
    if not _is_path_to_field(message.DESCRIPTOR, names):
        return message, None
    target = message
    for name in names[:-1]:
        field = _field(target.DESCRIPTOR, name)
        assert field is not None
        target = getattr(target, field.name)
    return target, _field(target.DESCRIPTOR, names[-1])


def _expand_enum_names(value: Any, descriptor: Descriptor) -> Any:
    """Rewrites short enum names (`DONE`) in a JSON object to the full names json_format expects."""
    if not isinstance(value, dict):
        return value
    out = dict(value)
    for key, item in value.items():
        field = _field(descriptor, key) if isinstance(key, str) else None
        if field is None:
            continue
        out[key] = _expand_field(field, item)
    return out


def _expand_field(field: FieldDescriptor, item: Any) -> Any:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value_field = field.message_type.fields_by_name["value"]
        return {k: _expand_one(value_field, v) for k, v in item.items()} if isinstance(item, dict) else item
    if field.is_repeated and isinstance(item, list):
        return [_expand_one(field, v) for v in item]
    return _expand_one(field, item)


def _expand_one(field: FieldDescriptor, item: Any) -> Any:
    if field.cpp_type == FieldDescriptor.CPPTYPE_ENUM and isinstance(item, str):
        number = parse_enum(field.enum_type, item)
        return field.enum_type.values_by_number[number].name if number is not None else item
    if field.message_type is not None and not field.message_type.full_name.startswith("google.protobuf."):
        return _expand_enum_names(item, field.message_type)
    return item
