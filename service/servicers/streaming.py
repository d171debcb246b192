"""What client-streaming RPCs share."""

from __future__ import annotations

import asyncio

import grpc


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
