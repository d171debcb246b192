"""The gRPC side of the memory bound: large messages reserve their expected memory before they are parsed.

The interceptor takes each call's messages as bytes (its handlers have no deserializer), reserves
`SERVER_MULTIPLE` times a message's size in the process's budget, then parses it and runs the servicer.
A unary call holds its lease until it returns; a client stream holds one per message, released when the
servicer asks for the next one. A call the local gateway already paid for (its lease token in the metadata)
reserves nothing. It runs inside ServiceInterceptor, so the caller is authenticated before anything is
reserved, and MemoryBusy (RESOURCE_EXHAUSTED with RetryInfo) and undecodable messages (INVALID_ARGUMENT,
service/request_guard.py) are mapped there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from service.inflight import SERVER_MULTIPLE, SMALL_BYTES, InflightBytes, Lease, lease_token
from service.request_guard import checked, guarded_deserializer


class InflightInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, budget: InflightBytes) -> None:
        self.budget = budget

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or not details.method.startswith("/catalogingest."):
            return handler
        # Parsed here, after the reservation; undecodable bytes are INVALID_ARGUMENT as everywhere else.
        guarded = guarded_deserializer(handler.request_deserializer, details.method)

        def deserialize(raw: bytes) -> Any:
            return checked(guarded(raw))

        if handler.unary_unary:
            inner_uu = handler.unary_unary

            async def unary_unary(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
                lease = await self._reserve(len(raw), context)
                try:
                    return await inner_uu(deserialize(raw), context)
                finally:
                    if lease is not None:
                        lease.release()

            return grpc.unary_unary_rpc_method_handler(unary_unary, None, handler.response_serializer)
        if handler.stream_unary:
            inner_su = handler.stream_unary

            async def stream_unary(raw_messages: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> Any:
                messages = _Messages(self, raw_messages, deserialize, context)
                try:
                    return await inner_su(messages, context)
                finally:
                    messages.release()

            return grpc.stream_unary_rpc_method_handler(stream_unary, None, handler.response_serializer)
        return handler

    async def _reserve(self, size: int, context: grpc.aio.ServicerContext) -> Lease | None:
        if size < SMALL_BYTES or self.budget.covers(lease_token(context)):
            return None
        return await self.budget.acquire(int(size * SERVER_MULTIPLE))


class _Messages:
    """A client stream's messages, each parsed once its memory is reserved; one lease at a time."""

    def __init__(
        self,
        interceptor: InflightInterceptor,
        raw_messages: AsyncIterator[bytes],
        deserialize: Callable[[bytes], Any],
        context: grpc.aio.ServicerContext,
    ) -> None:
        self._interceptor = interceptor
        self._raw = aiter(raw_messages)
        self._deserialize = deserialize
        self._context = context
        self._lease: Lease | None = None

    def __aiter__(self) -> _Messages:
        return self

    async def __anext__(self) -> Any:
        self.release()  # the servicer is done with the previous message
        raw = await anext(self._raw)
        self._lease = await self._interceptor._reserve(len(raw), self._context)
        return self._deserialize(raw)

    def release(self) -> None:
        if self._lease is not None:
            self._lease.release()
            self._lease = None
