"""One interceptor for every catalogingest RPC: who is calling, and domain errors to google.rpc.Status."""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from service.auth import Authenticator, Principal
from service.db.outage import outage_reason
from service.errors import (
    DESCRIPTION_LIMIT,
    MESSAGE_LIMIT,
    CatalogIngestError,
    DatabaseUnavailable,
    Unauthenticated,
    quote,
)
from service.refused_streams import RefusedStreamDrain
from service.request_guard import checked, checked_stream, guarded_deserializer

log = logging.getLogger(__name__)

ERROR_DOMAIN = "catalog-ingest"
# An error's google.rpc.Status travels base64-encoded in trailing metadata next to its message: this keeps
# the whole under gRPC's 8 KiB soft metadata limit.
STATUS_BYTES = 4096
# Callable without a token: the documented health check of the ingestion system.
PUBLIC_METHODS = frozenset({"/catalogingest.v1.TaskService/GetIngestionStatus"})

_principal: contextvars.ContextVar[Principal] = contextvars.ContextVar("principal")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def current_principal() -> Principal:
    try:
        return _principal.get()
    except LookupError:
        raise Unauthenticated() from None


def metadata_value(context: grpc.aio.ServicerContext, key: str) -> str | None:
    for k, v in context.invocation_metadata() or ():
        if k == key:
            return v if isinstance(v, str) else v.decode()
    return None


def to_rpc_status(error: CatalogIngestError) -> grpc.Status:
    """The error as a google.rpc.Status, within STATUS_BYTES (field violations past it are left out)."""
    violations = list(error.field_violations)
    while True:
        status = _status(error, violations)
        if len(status.SerializeToString()) <= STATUS_BYTES or len(violations) <= 1:
            return rpc_status.to_status(status)
        violations = violations[: len(violations) // 2]


def _status(error: CatalogIngestError, violations: list[tuple[str, str]]) -> status_pb2.Status:
    metadata = {quote(k): quote(v) for k, v in error.metadata.items()}
    message = quote(error.message, MESSAGE_LIMIT)
    details = [error_details_pb2.ErrorInfo(reason=quote(error.reason), domain=ERROR_DOMAIN, metadata=metadata)]
    if violations:
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=quote(f), description=quote(d, DESCRIPTION_LIMIT))
                    for f, d in violations
                ]
            )
        )
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        delay = duration_pb2.Duration()
        delay.FromTimedelta(dt.timedelta(seconds=max(0.0, retry_after)))
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
    packed = []
    for detail in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)
        packed.append(any_detail)
    return status_pb2.Status(code=error.code.value[0], message=message, details=packed)


async def end(context: grpc.aio.ServicerContext, status: grpc.Status) -> None:
    await context.abort(status.code, status.details, status.trailing_metadata)


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    """Every catalogingest RPC, of each of the four kinds: request id, authentication, then the request
    messages checked (request_guard), then the servicer; its errors become google.rpc.Status."""

    def __init__(self, authenticator: Authenticator, drain: RefusedStreamDrain | None = None) -> None:
        self.authenticator = authenticator
        # A refused client stream is read to its end first, so grpc.aio clients see the refusal (see the module).
        self.drain = drain or RefusedStreamDrain(max_bytes=0, max_seconds=0, max_streams=0)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or not details.method.startswith("/catalogingest."):
            return handler
        public = details.method in PUBLIC_METHODS
        method = details.method
        deserializer = guarded_deserializer(handler.request_deserializer, method)

        async def enter(context: grpc.aio.ServicerContext) -> None:
            request_id.set(metadata_value(context, "x-request-id") or uuid.uuid4().hex)
            if not public:
                _principal.set(await self.authenticator.authenticate(metadata_value(context, "authorization")))

        def status_of(exc: Exception) -> grpc.Status:
            if isinstance(exc, CatalogIngestError):
                return to_rpc_status(exc)
            outage = outage_reason(exc)
            if outage:
                log.warning("database unavailable in %s (request %s): %s: %s", method, request_id.get(), outage, exc)
                return to_rpc_status(DatabaseUnavailable(outage))
            log.exception("unhandled error in %s (request %s)", method, request_id.get())
            internal = status_pb2.Status(code=code_pb2.INTERNAL, message="internal error; see the server log")
            return rpc_status.to_status(internal)

        async def fail(context: grpc.aio.ServicerContext, exc: Exception) -> None:
            await end(context, status_of(exc))

        if handler.unary_unary:
            inner_uu = handler.unary_unary

            async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                try:
                    await enter(context)
                    return await inner_uu(checked(request), context)
                except Exception as exc:
                    if _is_abort(exc):
                        raise
                    await fail(context, exc)

            return grpc.unary_unary_rpc_method_handler(unary_unary, deserializer, handler.response_serializer)
        if handler.unary_stream:
            inner_us = handler.unary_stream

            async def unary_stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                try:
                    await enter(context)
                    async for response in inner_us(checked(request), context):
                        yield response
                except Exception as exc:
                    if _is_abort(exc):
                        raise
                    await fail(context, exc)

            return grpc.unary_stream_rpc_method_handler(unary_stream, deserializer, handler.response_serializer)
        if handler.stream_unary:
            inner_su = handler.stream_unary

            async def stream_unary(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
                try:
                    await enter(context)
                    return await inner_su(checked_stream(requests), context)
                except Exception as exc:
                    if _is_abort(exc):
                        raise
                    status = status_of(exc)
                    await self.drain.drain(context, exc, status)
                    await end(context, status)

            return grpc.stream_unary_rpc_method_handler(stream_unary, deserializer, handler.response_serializer)
        if handler.stream_stream:
            inner_ss = handler.stream_stream

            async def stream_stream(
                requests: AsyncIterator[Any], context: grpc.aio.ServicerContext
            ) -> AsyncIterator[Any]:
                try:
                    await enter(context)
                    async for response in inner_ss(checked_stream(requests), context):
                        yield response
                except Exception as exc:
                    if _is_abort(exc):
                        raise
                    await fail(context, exc)

            return grpc.stream_stream_rpc_method_handler(stream_stream, deserializer, handler.response_serializer)
        return handler


def _is_abort(exc: BaseException) -> bool:
    # context.abort() raises this to end the call; it must pass through untouched.
    return isinstance(exc, grpc.aio.AbortError)
