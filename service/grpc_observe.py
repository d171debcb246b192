"""What each RPC leaves behind: one access log line, its metrics, its trace span.

The outermost interceptor: it sees the status every inner layer settled on (ServiceInterceptor's aborts
included), and, since the handler runs in this coroutine's context, what the call bound to its log context
(request id, tenant, the task it enqueued, the catalog it touched).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from service import log_context, tracing
from service.metrics import process_metrics

access_log = logging.getLogger("catalog_ingest.access.grpc")


def _size(message: Any) -> int:
    """A message's encoded size. Requests arrive still encoded (the memory budget's interceptor decodes them
    once it has counted them); a response's is computed by protobuf (a walk of the message, cheaper than the
    serialization that follows)."""
    if isinstance(message, bytes | bytearray | memoryview):
        return len(message)
    return message.ByteSize() if hasattr(message, "ByteSize") else 0


class ObservingInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self) -> None:
        self.metrics = process_metrics()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method = details.method
        observe = self._observe

        async def counted(requests: AsyncIterator[Any], call: _Observed) -> AsyncIterator[Any]:
            async for request in requests:
                call.bytes_in += _size(request)
                yield request

        if handler.unary_unary or handler.stream_unary:
            inner_unary = handler.unary_unary or handler.stream_unary
            streaming_in = handler.stream_unary is not None

            async def unary_response(request: Any, context: grpc.aio.ServicerContext) -> Any:
                with observe(method, context) as call:
                    if streaming_in:
                        request = counted(request, call)
                    else:
                        call.bytes_in = _size(request)
                    response = await inner_unary(request, context)
                    call.bytes_out = _size(response)
                    return response

            make = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.stream_unary_rpc_method_handler
            return make(unary_response, handler.request_deserializer, handler.response_serializer)

        inner_stream = handler.unary_stream or handler.stream_stream
        streaming_in = handler.stream_stream is not None

        async def stream_response(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            with observe(method, context) as call:
                if streaming_in:
                    request = counted(request, call)
                else:
                    call.bytes_in = _size(request)
                async for response in inner_stream(request, context):
                    call.bytes_out += _size(response)
                    yield response

        make = grpc.unary_stream_rpc_method_handler if handler.unary_stream else grpc.stream_stream_rpc_method_handler
        return make(stream_response, handler.request_deserializer, handler.response_serializer)

    def _observe(self, method: str, context: grpc.aio.ServicerContext) -> _Observed:
        return _Observed(self, method, context)

    def record(self, method: str, code: grpc.StatusCode, elapsed: float) -> None:
        self.metrics.grpc_requests.labels(method, code.name).inc()
        self.metrics.grpc_duration.labels(method).observe(elapsed)


class _Observed:
    """The span and the clock of one call; on exit, its status counted and its access line written."""

    def __init__(self, owner: ObservingInterceptor, method: str, context: grpc.aio.ServicerContext) -> None:
        self.owner = owner
        self.method = method
        self.context = context
        self.bytes_in = 0
        self.bytes_out = 0

    def __enter__(self) -> _Observed:
        log_context.reset()
        metadata = {k: v for k, v in (self.context.invocation_metadata() or ()) if isinstance(v, str)}
        self.span_scope = tracing.server_span(self.method.lstrip("/"), metadata, kind="server")
        self.span = self.span_scope.__enter__()
        self.started = time.perf_counter()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        elapsed = time.perf_counter() - self.started
        code = self._code(exc)
        self.owner.record(self.method, code, elapsed)
        tracing.annotate(self.span, {"rpc.grpc.status_code": code.value[0]})
        self.span_scope.__exit__(kind, exc, tb)
        fields = {
            "method": self.method,
            "code": code.name,
            "duration_ms": round(elapsed * 1000, 3),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
        }
        access_log.info("%s %s %.1fms", self.method, code.name, elapsed * 1000, extra={"fields": fields})

    def _code(self, exc: BaseException | None) -> grpc.StatusCode:
        if exc is None:
            return self._set_code() or grpc.StatusCode.OK
        if isinstance(exc, asyncio.CancelledError | GeneratorExit):
            return grpc.StatusCode.CANCELLED
        if isinstance(exc, grpc.aio.AbortError):
            return self._set_code() or grpc.StatusCode.UNKNOWN
        return grpc.StatusCode.UNKNOWN

    def _set_code(self) -> grpc.StatusCode | None:
        code = self.context.code()
        if code is None:
            return None
        if isinstance(code, grpc.StatusCode):
            return code
        # grpc.aio reports the integer of the code in some versions.
        return next((c for c in grpc.StatusCode if c.value[0] == code), grpc.StatusCode.UNKNOWN)
