"""Hostile values for any field of a request message, found from its descriptor: `mutated(base)` gives a valid
request 0-2 of whose fields (into sub-messages and list elements) hold hostile values of their type."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

from tests.fuzz.values import DEPTHS, NASTY_TEXT, dumps, json_objects, nested, page_tokens

C, T, B = "catalogingest.v1.CatalogService", "catalogingest.v1.TaskService", "catalogingest.v1.BatchService"
# Problem words a status may use when the whole request is at fault.
REQUEST_WORDS = ("request", "message", "decode", "parse", "header", "stream", "invalid", "malformed")

# Proto strings must be valid UTF-8; invalid bytes go through the raw-bytes cases instead.
proto_text = st.one_of(
    st.sampled_from([t for t in NASTY_TEXT if not any(0xD800 <= ord(c) <= 0xDFFF for c in t)]),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20),
)
json_text = st.one_of(
    json_objects.map(lambda v: dumps(v).decode("utf-8", "replace")),
    st.builds(lambda d: dumps(nested(d)).decode(), st.sampled_from(DEPTHS)),
    st.sampled_from(["", "{", "[]", "null", "1e400", '{"a":1,"a":2}', "NaN", '{"k": 18446744073709551616}']),
)
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: 31,
    FieldDescriptor.TYPE_INT64: 63,
    FieldDescriptor.TYPE_SINT32: 31,
    FieldDescriptor.TYPE_SINT64: 63,
}


def hostile_for(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.name.endswith("_json"):
        return json_text
    if field.name == "page_token":
        return page_tokens.filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t))
    if field.type == FieldDescriptor.TYPE_STRING:
        return proto_text
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type == FieldDescriptor.TYPE_ENUM:
        return st.integers(-3, 12)
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.one_of(st.floats(), st.sampled_from([1e308, -1e308, 5e-324, 2.0**63, 2.0**64, 1e20]))
    bits = _INT_RANGES.get(field.type, 63)
    edge = [0, -1, 1, 2**bits - 1, -(2**bits)]
    return st.one_of(st.sampled_from(edge), st.integers(-(2**bits), 2**bits - 1))


def _paths(message: Message, prefix: str = "") -> list[tuple[str, Message, FieldDescriptor, int | None]]:
    """Every scalar field of the message and of its set sub-messages and list elements: (path, owner, field, index)."""
    out = []
    for field in message.DESCRIPTOR.fields:
        path = prefix + field.name
        repeated = field.is_repeated
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry:
                continue
            if repeated:
                for i, element in enumerate(getattr(message, field.name)):
                    out += _paths(element, f"{path}[{i}].")
            elif field.message_type.full_name == "google.protobuf.Timestamp" or message.HasField(field.name):
                out += _paths(getattr(message, field.name), path + ".")
        elif repeated:
            out.append((path, message, field, len(getattr(message, field.name))))
        else:
            out.append((path, message, field, None))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: Message) -> tuple[Message, list[str]]:
    """`base` with 0-2 of its fields given hostile values; the field paths and names an error may use."""
    message = type(base)()
    message.CopyFrom(base)
    paths = _paths(message)
    names: list[str] = []
    chosen = draw(st.lists(st.sampled_from(paths), max_size=2, unique_by=lambda p: p[0])) if paths else []
    for path, owner, field, index in chosen:
        value = draw(hostile_for(field))
        try:
            if index is None:
                setattr(owner, field.name, value)
            else:
                getattr(owner, field.name).append(value)
        except (ValueError, TypeError):
            continue
        top = path.split(".")[0].split("[")[0]
        names += [path, field.name, top, field.name.removesuffix("_json")]
    return message, names


def _metadata(stack: Any) -> Any:
    return stack.metadata()


def unary(service: str, method: str, response: Any) -> Callable[[Any, Message], Any]:
    async def call(stack: Any, request: Message) -> Any:
        multi = stack.channel.unary_unary(
            f"/{service}/{method}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response.FromString,
        )
        return await multi(request, metadata=_metadata(stack), timeout=30)

    return call


def request_words(method: str, descriptor: Any) -> tuple[str, ...]:
    """What an error about a request of this RPC may name: its fields (and their nouns) and the resource
    the RPC is about (`ingestion` of DeleteIngestion)."""

    words = [w.lower() for w in re.findall(r"[A-Z][a-z]+", method)[1:]]
    for field in descriptor.fields:
        camel = re.sub(r"_(\w)", lambda m: m.group(1).upper(), field.name)
        words += [field.name, field.name.removesuffix("_json").removesuffix("_id"), field.name.replace("_", " "), camel]
    return tuple(w for w in words if len(w) > 2)


def short(message: Message) -> str:
    from google.protobuf import text_format

    return text_format.MessageToString(message, as_one_line=True)[:260]
