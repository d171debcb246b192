"""PUT and PATCH /v1/catalog: the one custom route. A multipart body of CSV files is parsed as it
arrives and forwarded in ~1 MiB chunks on CatalogService.UploadCatalog; no file is ever held whole."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from catalogingest.v1 import catalog_pb2, catalog_pb2_grpc, record_pb2
from gateway.binding import bind_query
from gateway.credentials import require_credentials
from gateway.errors import GatewayError, from_rpc_error
from gateway.limits import lease_metadata, reserve_upload
from gateway.metadata import grpc_metadata
from gateway.responses import error_response, json_response, render
from gateway.runtime import runtime_of
from service.error_reasons import ErrorReason
from service.inflight import Lease

FILE_FIELDS = {
    "items": record_pb2.RECORD_KIND_ITEM,
    "variations": record_pb2.RECORD_KIND_VARIATION,
    "item_groups": record_pb2.RECORD_KIND_ITEM_GROUP,
}
CHUNK_BYTES = 1024 * 1024
# A slow client's bytes are forwarded at least this often, so that the server's idle timeout on the stream
# measures the client's silence, not the time it takes to fill a chunk.
FLUSH_SECONDS = 1.0
MODES = {"PUT": catalog_pb2.UPLOAD_MODE_SYNC, "PATCH": catalog_pb2.UPLOAD_MODE_DELTA}


class _Parts:
    """python-multipart callbacks turned into upload messages, a part's data in chunks of CHUNK_BYTES."""

    def __init__(self) -> None:
        self.out: list[catalog_pb2.UploadCatalogRequest] = []
        self.seen: set[str] = set()
        self._header_field = b""
        self._headers: dict[bytes, bytes] = {}
        self._kind = 0
        self._buffer = bytearray()
        self._emitted_at = time.monotonic()
        self.error: GatewayError | None = None
        # python-multipart calls on_end only at the closing boundary: a body cut anywhere before it never ends.
        self.ended = False

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda data, start, end: setattr(self, "_header_field", data[start:end].lower()),
            "on_header_value": self._header_value,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
            "on_end": lambda: setattr(self, "ended", True),
        }

    def _begin(self) -> None:
        self._headers = {}
        self._kind = 0

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._headers[self._header_field] = self._headers.get(self._header_field, b"") + data[start:end]

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name not in FILE_FIELDS:
            raise GatewayError.invalid_argument(
                name or "form field", "unknown form field: send the files as items, variations, item_groups"
            )
        if name in self.seen:
            raise GatewayError.invalid_argument(name, "sent twice")
        self.seen.add(name)
        self._kind = FILE_FIELDS[name]
        # An empty first chunk declares the file, so an empty file still counts (it syncs to no records).
        self._emit(b"")

    def _data(self, data: bytes, start: int, end: int) -> None:
        self._buffer += data[start:end]
        if len(self._buffer) >= CHUNK_BYTES or time.monotonic() - self._emitted_at >= FLUSH_SECONDS:
            self._emit(bytes(self._buffer))
            self._buffer.clear()

    def _end(self) -> None:
        if self._buffer:
            self._emit(bytes(self._buffer))
            self._buffer.clear()

    def _emit(self, data: bytes) -> None:
        self._emitted_at = time.monotonic()
        self.out.append(catalog_pb2.UploadCatalogRequest(chunk=catalog_pb2.FileChunk(file=self._kind, data=data)))


# RFC 2046 section 5.1.1: a boundary is 1 to 70 characters.
MAX_BOUNDARY_CHARS = 70
TRUNCATED = (
    "the multipart body ended before its closing boundary (truncated upload): nothing was applied; send the whole body"
)


def _boundary(request: Request) -> bytes:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise GatewayError.invalid_argument(
            "Content-Type", "send multipart/form-data with the CSV files as items, variations, item_groups"
        )
    boundary = options[b"boundary"]
    if len(boundary) > MAX_BOUNDARY_CHARS:
        raise GatewayError.invalid_argument(
            "Content-Type",
            f"the multipart boundary is {len(boundary)} characters; RFC 2046 allows at most {MAX_BOUNDARY_CHARS}",
        )
    return boundary


# grpc.aio replaces the server's status with this one when the server ends a client stream while a write is
# in flight (grpc/grpc#36066). The server in this process hands its refusal over on the upload's lease
# (service/refused_streams.py); a server elsewhere ends an upload early only to refuse it (upload caps, the
# memory budget, a database outage, an idle timeout), and such an upload created nothing: retrying is right.
_CORE_WRITE_FAILED = "Internal error from Core"
_ENDED_EARLY = GatewayError(
    503,
    grpc.StatusCode.UNAVAILABLE.name,
    "the server ended the upload before reading all of it (it is busy or refused it); nothing was stored: retry",
    reason=ErrorReason.UPLOAD_ENDED_EARLY,
    headers={"Retry-After": "1"},
)


def _status_lost_to_core(error: grpc.aio.AioRpcError) -> bool:
    return error.code() == grpc.StatusCode.INTERNAL and error.details() == _CORE_WRITE_FAILED


def _lost_status(lease: Lease) -> GatewayError:
    """What to answer for a refusal grpc.aio lost: the server's own, when it ran in this process."""
    refusal = lease.refusal
    if refusal is None:
        return _ENDED_EARLY
    trailing = grpc.aio.Metadata(*refusal.trailing_metadata)
    return from_rpc_error(grpc.aio.AioRpcError(refusal.code, None, trailing, refusal.details))


async def upload_catalog(request: Request) -> Response:
    metadata = grpc_metadata(request)
    await require_credentials(runtime_of(request), metadata)  # before the query, content type and body
    header = catalog_pb2.UploadCatalogHeader(mode=MODES[request.method])
    bind_query(header, request.query_params.multi_items(), exclude={"mode", "files"})
    if header.patch_delta and request.method == "PUT":
        raise GatewayError.invalid_argument("patch_delta", "only PATCH (a delta) can be a patch")
    boundary = _boundary(request)
    parts = _Parts()

    lease = await reserve_upload(request)
    metadata = (*metadata, *lease_metadata(request))  # the server in this process need not reserve again

    async def messages() -> AsyncIterator[catalog_pb2.UploadCatalogRequest]:
        yield catalog_pb2.UploadCatalogRequest(header=header)
        parser = MultipartParser(boundary, parts.callbacks())
        try:
            async for body_chunk in request.stream():
                parser.write(body_chunk)
                for message in parts.out:
                    yield message
                parts.out.clear()
            parser.finalize()
        except GatewayError as exc:
            parts.error = exc
            raise
        except Exception as exc:  # python-multipart's parse errors
            parts.error = GatewayError.invalid_argument("body", f"malformed multipart body: {exc}")
            raise
        if not parts.ended:
            # Raised before the last chunk goes out: the call is cancelled and the server keeps nothing.
            parts.error = GatewayError.invalid_argument("body", TRUNCATED)
            raise parts.error
        for message in parts.out:
            yield message
        if not parts.seen:
            parts.error = GatewayError.invalid_argument("body", "no file: send items, variations and/or item_groups")
            raise parts.error

    stub = catalog_pb2_grpc.CatalogServiceStub(runtime_of(request).channel)
    try:
        response = await stub.UploadCatalog(messages(), metadata=metadata)
    except grpc.aio.AioRpcError as exc:
        if parts.error is None and _status_lost_to_core(exc):
            return error_response(_lost_status(lease))
        return error_response(parts.error or from_rpc_error(exc))
    except asyncio.CancelledError:
        # A bad body breaks the stream off (grpc.aio cancels the call; the server rolls back and no task
        # exists): answer what was wrong with the body. Any other cancellation goes on.
        if parts.error is None:
            raise
        return error_response(parts.error)
    finally:
        lease.release()
    return json_response(render(response))


ROUTES = [Route("/v1/catalog", upload_catalog, methods=["PUT", "PATCH"])]
