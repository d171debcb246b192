"""GET /v1/tasks/{id}/errors.jsonl and /batch-imports/ingestions/{id}/errors.jsonl: a task's errors as a download.

One error a line, as GET .../errors lists them (with the record as sent: fix it and send it again), every page
of ListTaskErrors / ListIngestionErrors read in turn over the gRPC channel. An error before the first line (no
such task, no token) is the usual HTTP error; the download is built page by page, so it stays small in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import orjson
from google.protobuf.message import Message
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from catalogingest.v1 import batch_pb2, task_pb2
from gateway.binding import bind_path, bind_query
from gateway.errors import GatewayError, from_rpc_error
from gateway.metadata import grpc_metadata
from gateway.responses import error_response, message_to_json
from gateway.runtime import runtime_of

PAGE_SIZE = 1000
JSONL = "application/x-ndjson"


class _Download:
    def __init__(self, method: str, request_type: type[Message], response_type: type[Message], camel_case: bool):
        self.method = method
        self.request_type = request_type
        self.response_type = response_type
        self.camel_case = camel_case

    async def serve(self, request: Request) -> Response:
        message: Any = self.request_type()
        try:
            bound = bind_path(message, {"id": request.path_params["id"]})
            bind_query(message, request.query_params.multi_items(), exclude=bound | {"page_token", "page_size"})
        except GatewayError as error:
            return error_response(error)
        message.page_size = PAGE_SIZE
        call = runtime_of(request).channel.unary_unary(
            self.method,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=self.response_type.FromString,
        )
        metadata = grpc_metadata(request)
        try:
            first = await call(message, metadata=metadata)
        except grpc.aio.AioRpcError as error:
            return error_response(from_rpc_error(error))
        name = (
            f"task-{message.id}-errors.jsonl" if isinstance(message.id, int) else f"ingestion-{message.id}-errors.jsonl"
        )
        return StreamingResponse(
            self._lines(call, message, metadata, first),
            media_type=JSONL,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def _lines(self, call: Any, message: Any, metadata: Any, page: Any) -> AsyncIterator[bytes]:
        while True:
            yield b"".join(
                orjson.dumps(message_to_json(error, camel_case=self.camel_case)) + b"\n" for error in page.errors
            )
            if not page.next_page_token:
                return
            message.page_token = page.next_page_token
            page = await call(message, metadata=metadata)


ROUTES = [
    Route(
        "/v1/tasks/{id}/errors.jsonl",
        _Download(
            "/catalogingest.v1.TaskService/ListTaskErrors",
            task_pb2.ListTaskErrorsRequest,
            task_pb2.ListTaskErrorsResponse,
            camel_case=False,
        ).serve,
        methods=["GET"],
    ),
    Route(
        "/batch-imports/ingestions/{id}/errors.jsonl",
        _Download(
            "/catalogingest.v1.BatchService/ListIngestionErrors",
            batch_pb2.ListIngestionErrorsRequest,
            batch_pb2.ListIngestionErrorsResponse,
            camel_case=True,
        ).serve,
        methods=["GET"],
    ),
]
