"""What each RPC leaves behind: one access log line, its metrics, its trace span.

The outermost interceptor: it sees the status every inner layer settled on (ServiceInterceptor's aborts
included), and, since the handler runs in this coroutine's context, what the call bound to its log context
(request id, tenant, the task it enqueued, the catalog it touched).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from service import log_context, tracing
from service.metrics import process_metrics

access_log = logging.getLogger("catalog_ingest.access.grpc")

# Bytes received and sent by the current call (set by the first message; each RPC is an asyncio task).
_sizes: contextvars.ContextVar[list[int]] = contextvars.ContextVar("rpc_sizes")


def _call_sizes() -> list[int]:
    try:
        return _sizes.get()
    except LookupError:
        sizes = [0, 0]
        _sizes.set(sizes)
        return sizes


def _counting_deserializer(inner: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if inner is None:
        return None

    def deserialize(data: bytes) -> Any:
        _call_sizes()[0] += len(data)
        return inner(data)

    return deserialize


def _counting_serializer(inner: Callable[[Any], bytes] | None) -> Callable[[Any], bytes] | None:
    if inner is None:
        return None

    def serialize(message: Any) -> bytes:
        data = inner(message)
        _call_sizes()[1] += len(data)
        return data

    return serialize


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
        deserializer = _counting_deserializer(handler.request_deserializer)
        serializer = _counting_serializer(handler.response_serializer)

        if handler.unary_unary or handler.stream_unary:
            inner_unary = handler.unary_unary or handler.stream_unary

            async def unary_response(request: Any, context: grpc.aio.ServicerContext) -> Any:
                with observe(method, context):
                    return await inner_unary(request, context)

            make = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.stream_unary_rpc_method_handler
            return make(unary_response, deserializer, serializer)

        inner_stream = handler.unary_stream or handler.stream_stream

        async def stream_response(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            with observe(method, context):
                async for response in inner_stream(request, context):
                    yield response

        make = grpc.unary_stream_rpc_method_handler if handler.unary_stream else grpc.stream_stream_rpc_method_handler
        return make(stream_response, deserializer, serializer)

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

    def __enter__(self) -> None:
        log_context.reset()
        metadata = {k: v for k, v in (self.context.invocation_metadata() or ()) if isinstance(v, str)}
        self.span_scope = tracing.server_span(self.method.lstrip("/"), metadata, kind="server")
        self.span = self.span_scope.__enter__()
        self.started = time.perf_counter()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        elapsed = time.perf_counter() - self.started
        code = self._code(exc)
        self.owner.record(self.method, code, elapsed)
        sizes = _call_sizes()
        tracing.annotate(self.span, {"rpc.grpc.status_code": code.value[0]})
        self.span_scope.__exit__(kind, exc, tb)
        fields = {
            "method": self.method,
            "code": code.name,
            "duration_ms": round(elapsed * 1000, 3),
            "bytes_in": sizes[0],
            "bytes_out": sizes[1],
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
