"""What client-streaming RPCs share."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf.message import Message

from service.errors import invalid_field


async def ensure_not_cancelled(context: grpc.aio.ServicerContext) -> None:
    """Tell a stream the client ended from one the client cancelled, before committing its task.

    grpc.aio ends the request iterator the same way in both cases and cancels the handler only
    later. Sending the initial metadata is a round trip through the call that fails once the
    client has cancelled; in a clean half-close it succeeds.
    """
    try:
        await context.send_initial_metadata(())
    except Exception as error:
        raise asyncio.CancelledError("the client cancelled the stream") from error


def _part(message: Message) -> str | None:
    """Which member of the message's one oneof (a header or a body part) is set."""
    return message.WhichOneof(message.DESCRIPTOR.oneofs[0].name)


async def read_header(requests: AsyncIterator[Any]) -> Any:
    """The header of a client stream: its first message, and only that one."""
    first = await anext(requests, None)
    if first is None or _part(first) != "header":
        raise invalid_field("header", "the first message must be the header", "STREAM_HEADER_REQUIRED")
    return first.header


def stream_body(message: Message, body: str) -> Any:
    """The `body` part of a message after the header; a second header or an empty message is refused."""
    part = _part(message)
    if part == "header":
        raise invalid_field("header", "only the first message may be the header", "STREAM_HEADER_REPEATED")
    if part != body:
        raise invalid_field("part", f"each message after the header must be a {body}")
    return getattr(message, body)
