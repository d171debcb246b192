"""GET /v1/tasks/{id}:watch: TaskService.WatchTask as Server-Sent Events.

One `task` event per change (the task as GET /v1/tasks/{id} shows it), the stream closing after the
event with a final status. An error before the first event (no such task, no token) is the usual
HTTP error; one after it is an `error` event with the usual error body, then the end of the stream.
A comment line every KEEPALIVE_SECONDS keeps proxies from closing a quiet stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from catalogingest.v1 import task_pb2
from gateway.binding import bind_path, bind_query
from gateway.errors import GatewayError, from_rpc_error
from gateway.metadata import grpc_metadata
from gateway.responses import error_response, render
from gateway.runtime import runtime_of

PATH = "/v1/tasks/{id}:watch"
KEEPALIVE_SECONDS = 15.0
METHOD = "/catalogingest.v1.TaskService/WatchTask"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse_event(event: str, data: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def watch_task(request: Request) -> Response:
    message = task_pb2.WatchTaskRequest()
    try:
        bound = bind_path(message, {"id": request.path_params["id"]})
        bind_query(message, request.query_params.multi_items(), exclude=bound)
        call = runtime_of(request).channel.unary_stream(
            METHOD,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=task_pb2.WatchTaskResponse.FromString,
        )(message, metadata=grpc_metadata(request))
    except GatewayError as error:
        return error_response(error)
    try:
        first = await call.read()
    except grpc.aio.AioRpcError as error:
        return error_response(from_rpc_error(error))
    if first is grpc.aio.EOF:
        call.cancel()
        return error_response(GatewayError(503, "UNAVAILABLE", "the server ended the watch before sending the task"))
    return StreamingResponse(_events(call, first), media_type="text/event-stream", headers=SSE_HEADERS)


async def _events(call: Any, first: task_pb2.WatchTaskResponse) -> AsyncIterator[bytes]:
    response: Any = first
    try:
        while True:
            yield sse_event("task", render(response, response_body="task"))
            read = asyncio.ensure_future(call.read())
            while not read.done():
                done, _ = await asyncio.wait({read}, timeout=KEEPALIVE_SECONDS)
                if not done:
                    yield b": keep-alive\n\n"
            try:
                response = read.result()
            except grpc.aio.AioRpcError as error:
                yield sse_event("error", from_rpc_error(error).body())
                return
            if response is grpc.aio.EOF:
                return
    finally:
        call.cancel()  # the client went away, or the task ended


ROUTES = [Route(PATH, watch_task, methods=["GET"])]
