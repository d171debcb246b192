"""Request bodies: read as a stream up to the configured limit, then parsed as JSON."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from gateway.errors import GatewayError
from service.domain.json_depth import nests_deeper
from service.error_reasons import ErrorReason


def too_large(limit: int) -> GatewayError:
    return GatewayError(
        413,
        "RESOURCE_EXHAUSTED",
        f"request body is larger than the limit of {limit} bytes",
        reason=ErrorReason.PAYLOAD_TOO_LARGE,
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or a 413 as soon as it passes `limit` bytes (nothing beyond it is buffered)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


# JSON bodies nest at most this deep (the service refuses data, properties and attributes nested deeper
# than 64 levels too): deeper JSON cannot be written back out, and orjson gives up at 1,024 levels.
MAX_JSON_DEPTH = 64
TOO_DEEP = f"JSON nested deeper than {MAX_JSON_DEPTH} levels (the limit for request bodies)"


def parse_json(raw: bytes) -> Any:
    """The parsed body; None when it is empty; a 400 when it is not JSON or nests too deep."""
    if not raw.strip():
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):
            raise GatewayError.invalid_argument("body", TOO_DEEP) from None
        raise GatewayError.invalid_argument("body", f"not valid JSON: {exc}") from None
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and nests_deeper(value, MAX_JSON_DEPTH):
        raise GatewayError.invalid_argument("body", TOO_DEEP)
    return value
