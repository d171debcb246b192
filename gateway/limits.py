"""The gateway's side of the process's bounds: request bodies reserve memory before they are read, and a
body that stops arriving is cut off.

A JSON body reserves its declared size (Content-Length, at most the largest body limit) times the memory a
request costs per body byte, before the app reads a byte of it; a chunked body reserves as it arrives. The
lease is released when the response is sent, and its token goes to the server with the call so the server
does not reserve again (service/inflight.py). A chunked body (no Content-Length) reserves the largest body
the gateway accepts: growing a lease while holding part of one could deadlock requests against each other.
A multipart upload streams; it reserves its fixed footprint when it starts (gateway/uploads.py).

A body that stops arriving for `body_idle_timeout_seconds`, or that trickles in slower than
`body_min_bytes_per_second` on average once that long has passed, gets a 408 and the connection is closed.
"""

from __future__ import annotations

import asyncio
import time

from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import GatewayError
from gateway.responses import error_response
from service.error_reasons import ErrorReason
from service.inflight import (
    GATEWAY_MULTIPLE,
    LEASE_METADATA_KEY,
    SERVER_MULTIPLE,
    SMALL_BYTES,
    UPLOAD_GATEWAY_BYTES,
    UPLOAD_SERVER_BYTES,
    InflightBytes,
    Lease,
    MemoryBusy,
)

_LEASE_STATE = "inflight_lease"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def memory_busy(budget: InflightBytes) -> GatewayError:
    busy = budget.busy()
    return GatewayError(
        503,
        "UNAVAILABLE",
        busy.message,
        reason=busy.reason,
        headers={"Retry-After": str(max(1, round(busy.retry_after)))},
    )


def body_timeout(idle: float, min_rate: int) -> GatewayError:
    return GatewayError(
        408,
        "DEADLINE_EXCEEDED",
        f"the request body arrives too slowly: a pause of {idle:g} seconds, or under {min_rate} bytes per second",
        reason=ErrorReason.BODY_TIMEOUT,
        headers={"Connection": "close"},
    )


def multiple(budget: InflightBytes) -> float:
    """Bytes a JSON request holds in this process per body byte: the server's share too when it runs here."""
    return GATEWAY_MULTIPLE + (SERVER_MULTIPLE if budget.serves_grpc else 0.0)


def lease_metadata(connection: HTTPConnection) -> tuple[tuple[str, str], ...]:
    """The metadata telling an in-process server that this request's memory is already reserved."""
    lease: Lease | None = connection.scope.get("state", {}).get(_LEASE_STATE)
    return ((LEASE_METADATA_KEY, lease.token),) if lease is not None else ()


class BodyLimitsMiddleware:
    """Reserves a request's memory before its body is read; times out a body that stops arriving."""

    def __init__(
        self, app: ASGIApp, budget: InflightBytes, *, max_body_bytes: int, idle_timeout: float, min_rate: int
    ) -> None:
        self.app = app
        self.budget = budget
        self.max_body_bytes = max_body_bytes
        self.idle_timeout = idle_timeout
        self.min_rate = min_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        streamed = headers.get(b"content-type", b"").lower().startswith(b"multipart/")
        declared = headers.get(b"content-length", b"")
        size = min(int(declared), self.max_body_bytes) if declared.isdigit() else self.max_body_bytes
        lease: Lease | None = None
        if not streamed and size >= SMALL_BYTES:
            try:
                lease = await self.budget.acquire(int(size * multiple(self.budget)))
            except MemoryBusy:
                await error_response(memory_busy(self.budget))(scope, receive, send)
                return
            scope.setdefault("state", {})[_LEASE_STATE] = lease
        try:
            await self.app(scope, _BodyReader(self, receive).receive, send)
        finally:
            if lease is not None:
                lease.release()


class _BodyReader:
    """`receive` with a deadline: pauses of at most `idle_timeout`, and `min_rate` on average after that."""

    def __init__(self, limits: BodyLimitsMiddleware, receive: Receive) -> None:
        self._limits = limits
        self._receive = receive
        self._received = 0
        self._started = time.monotonic()

    async def receive(self) -> Message:
        limits = self._limits
        deadline = self._started + limits.idle_timeout + self._received / max(1, limits.min_rate)
        try:
            async with asyncio.timeout(min(limits.idle_timeout, deadline - time.monotonic())):
                message = await self._receive()
        except TimeoutError:
            raise body_timeout(limits.idle_timeout, limits.min_rate) from None
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
        return message


async def reserve_upload(request: Request) -> Lease:
    """The fixed share of the memory budget a streaming upload holds while it runs (503 when not granted)."""
    budget: InflightBytes = request.app.state.inflight
    size = UPLOAD_GATEWAY_BYTES + (UPLOAD_SERVER_BYTES if budget.serves_grpc else 0)
    try:
        lease = await budget.acquire(size)
    except MemoryBusy:
        raise memory_busy(budget) from None
    request.scope.setdefault("state", {})[_LEASE_STATE] = lease
    return lease
