"""The adapters an RPC may need where the documented JSON is not proto JSON."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

# (request with path variables bound, parsed JSON body) -> names of the request fields the body filled.
RequestAdapter = Callable[[Any, Any], set[str]]
# (request, response) -> the JSON to send.
ResponseAdapter = Callable[[Any, Any], Any]
# (request, response) -> extra response headers.
HeadersAdapter = Callable[[Any, Any], Mapping[str, str]]
# (request, default error body) -> the error body to send.
ErrorAdapter = Callable[[Any, dict[str, Any]], dict[str, Any]]
# (HTTP request) -> the raw body, for a route whose size limit or over-limit answer is its own.
BodyReader = Callable[[Request], Awaitable[bytes]]
# (request with path, body and query bound, HTTP request headers) -> None: fields an HTTP header fills
# (If-Match).
HeaderBinder = Callable[[Any, Mapping[str, str]], None]


@dataclass(frozen=True)
class Shape:
    request: RequestAdapter | None = None
    response: ResponseAdapter | None = None
    headers: HeadersAdapter | None = None
    error: ErrorAdapter | None = None
    body_reader: BodyReader | None = None
    request_headers: HeaderBinder | None = None
