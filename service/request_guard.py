"""Request messages checked before a servicer sees them, for every RPC kind (unary and streaming).

grpc.aio answers a request it cannot deserialize with INTERNAL and logs a stack trace; a NUL in a string
that reaches a query breaks PostgreSQL. Both are the caller's mistake: INVALID_ARGUMENT, one log line.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from service.errors import InvalidArgument, invalid_field

log = logging.getLogger(__name__)


class RejectedRequest:
    """Stands in for a request message that must not reach the servicer; the interceptor raises `error`."""

    __slots__ = ("error",)

    def __init__(self, error: InvalidArgument) -> None:
        self.error = error


def guarded_deserializer(deserializer: Callable[[bytes], Any] | None, method: str) -> Callable[[bytes], Any]:
    """`deserializer`, but bytes it cannot decode (or query strings holding NUL) become a RejectedRequest."""
    type_name = getattr(getattr(deserializer, "__self__", None), "DESCRIPTOR", None)
    shown = type_name.full_name if type_name is not None else "request"

    def deserialize(raw: bytes) -> Any:
        try:
            message = deserializer(raw) if deserializer is not None else raw
        except Exception as exc:
            log.warning("undecodable %s for %s (%d bytes): %s", shown, method, len(raw), exc)
            return RejectedRequest(
                InvalidArgument(
                    f"the request is not a valid {shown} message (protobuf decoding failed: {exc})",
                    reason="UNDECODABLE_REQUEST",
                )
            )
        if b"\x00" in raw and isinstance(message, Message):  # a NUL byte is needed for a NUL character
            field = nul_query_field(message)
            if field:
                return RejectedRequest(invalid_field(field, "must not contain NUL (U+0000)", "NUL_CHARACTER"))
        return message

    return deserialize


def nul_query_field(message: Message, prefix: str = "") -> str:
    """The first string naming what a call reads or writes (not record contents) that holds a NUL: the
    message's string fields, repeated ones included, and those of its singular sub-messages (a stream
    header). Repeated messages (records, items) are values: their checks are per record or per item."""
    for field, value in message.ListFields():
        name = f"{prefix}{field.name}"
        if field.type == FieldDescriptor.TYPE_STRING:
            values = value if field.is_repeated else [value]
            for i, text in enumerate(values):
                if "\x00" in text:
                    return f"{name}[{i}]" if field.is_repeated else name
        elif field.type == FieldDescriptor.TYPE_MESSAGE and not field.is_repeated:
            if not field.message_type.full_name.startswith("google.protobuf."):
                found = nul_query_field(value, f"{name}.")
                if found:
                    return found
    return ""


def checked(request: Any) -> Any:
    if isinstance(request, RejectedRequest):
        raise request.error
    return request


async def checked_stream(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        yield checked(request)
