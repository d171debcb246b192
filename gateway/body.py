"""Request bodies: read as a stream up to the configured limit, then parsed as JSON."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from gateway.errors import GatewayError


def too_large(limit: int) -> GatewayError:
    return GatewayError(
        413,
        "RESOURCE_EXHAUSTED",
        f"request body is larger than the limit of {limit} bytes",
        reason="PAYLOAD_TOO_LARGE",
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


def parse_json(raw: bytes) -> Any:
    """The parsed body; None when it is empty; a 400 when it is not JSON."""
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise GatewayError.invalid_argument("body", f"not valid JSON: {exc}") from None
