"""uvicorn's HTTP/1.1 protocol with a deadline on request headers.

uvicorn times out idle keep-alive connections, but a client that opens a connection and sends nothing, or
sends its headers a byte at a time (a header trickle), holds the connection forever. Here the headers of a
request must be complete within `header_timeout` seconds of the connection opening or the previous response
being sent; past it, a client that sent part of a request gets a 408 and the connection is closed (one that
sent nothing is just closed). Body trickles are the gateway's (gateway/limits.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol

from service.error_reasons import ErrorReason


def _timeout_response(seconds: float) -> bytes:
    body = orjson.dumps(
        {
            "message": f"the request headers were not complete within {seconds:g} seconds",
            "code": "DEADLINE_EXCEEDED",
            "reason": ErrorReason.HEADER_TIMEOUT,
        }
    )
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class HeaderTimeoutProtocol(H11Protocol):
    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._headers_received()
        elif self._header_deadline is None and not self.transport.is_closing():
            self._await_headers()  # the rest of a body answered early has arrived: the next request begins

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_received()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        self._headers_received()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _headers_received(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        partial, _closed = self.conn.trailing_data
        if partial:
            self.transport.write(_timeout_response(self.header_timeout))
        self.transport.close()


def http_protocol(header_timeout: float) -> type[HeaderTimeoutProtocol]:
    """The protocol class to give uvicorn.Config(http=...)."""
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout": header_timeout})
