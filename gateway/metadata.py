"""The HTTP headers that travel to the gRPC server as call metadata."""

from __future__ import annotations

from starlette.requests import Request

from gateway.errors import GatewayError
from gateway.limits import lease_metadata
from gateway.request_id import HEADER as REQUEST_ID_HEADER
from gateway.request_id import request_id
from service import tracing

# HTTP header (lower case) -> metadata key. Authorization goes verbatim: `Bearer <token>` or the
# `Basic base64(<token>:)` that `curl -u"<token>:"` sends; the server decides which it accepts.
FORWARDED_HEADERS = {
    "authorization": "authorization",
    "idempotency-key": "idempotency-key",
}


# The longest forwarded header (a token is 47 characters): longer ones are a 431 from the gateway itself,
# well under the gRPC server's metadata limit (service.server.MAX_METADATA_BYTES).
MAX_FORWARDED_HEADER_BYTES = 4096


def grpc_metadata(request: Request) -> tuple[tuple[str, str], ...]:
    """The metadata for a call made on behalf of this request (incl. its request id)."""
    metadata = [(REQUEST_ID_HEADER, request_id(request))]
    for header, key in FORWARDED_HEADERS.items():
        value = request.headers.get(header)
        if value is None:
            continue
        if len(value) > MAX_FORWARDED_HEADER_BYTES:
            error = GatewayError.invalid_argument(
                header, f"is {len(value)} bytes long; this service accepts at most {MAX_FORWARDED_HEADER_BYTES}"
            )
            error.status = 431  # Request Header Fields Too Large
            raise error
        if not value.isascii() or not value.isprintable():
            raise GatewayError.invalid_argument(header, "must be printable ASCII")
        metadata.append((key, value))
    return (*metadata, *lease_metadata(request), *tracing.outgoing())
