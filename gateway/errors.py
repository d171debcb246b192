"""The one place where errors become HTTP: gRPC codes to statuses, google.rpc.Status details to the body."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from service.error_reasons import is_retryable

HTTP_STATUS_BY_CODE: Mapping[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
# ErrorInfo metadata key the server uses to say when a rate-limited call may be retried.
RETRY_AFTER_KEY = "retry_after_seconds"
# The statuses that carry Retry-After (429 and 503) when the reason is retryable.
RETRY_AFTER_CODES = frozenset({grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE})
# Reasons answered with another status than their code's: a failed precondition of a single-record write is
# 412 Precondition Failed (what HTTP clients sending If-Match expect), with the current version as its ETag;
# one that the resource's own state decides is a conflict with it (RFC 9110, 409).
HTTP_STATUS_BY_REASON: Mapping[str, int] = {"VERSION_MISMATCH": 412, "TASK_PAYLOAD_EXPIRED": 409}
# Retry-After for an UNAVAILABLE that carries no hint of its own: 503 always tells a client when to retry.
DEFAULT_UNAVAILABLE_RETRY_AFTER = 1.0


def http_status(code: grpc.StatusCode) -> int:
    """The HTTP status for a gRPC code; anything unlisted (INTERNAL, UNKNOWN, DATA_LOSS) is 500."""
    return HTTP_STATUS_BY_CODE.get(code, 500)


class GatewayError(Exception):
    """An error answered to the HTTP caller as `{"message", "code"[, "reason"][, "field_violations"]}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        reason: str = "",
        field_violations: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.reason = reason
        self.field_violations = list(field_violations)
        self.headers = dict(headers or {})
        # Reason-specific keys of the body (VERSION_MISMATCH: record_id, expected_version, current_version).
        self.extra = dict(extra or {})

    @classmethod
    def invalid_argument(cls, field: str, description: str, *, message: str = "") -> GatewayError:
        """A 400 naming the offending parameter or body field."""
        return cls(
            400,
            grpc.StatusCode.INVALID_ARGUMENT.name,
            message or f"{field}: {description}",
            field_violations=[(field, description)],
        )

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.reason:
            body["reason"] = self.reason
        if self.field_violations:
            body["field_violations"] = [{"field": f, "description": d} for f, d in self.field_violations]
        body.update(self.extra)
        return body


def rich_status(error: grpc.aio.AioRpcError) -> status_pb2.Status | None:
    """The google.rpc.Status from `grpc-status-details-bin`, if present and consistent with the call."""
    try:
        return rpc_status.from_call(error)
    except ValueError:
        return None


def from_rpc_error(error: grpc.aio.AioRpcError) -> GatewayError:
    """Maps a failed call: the status from its code, the body from its details (ErrorInfo, BadRequest)."""
    code = error.code()
    reason = ""
    info_metadata: dict[str, str] = {}
    violations: list[tuple[str, str]] = []
    retry_after: float | None = None
    status = rich_status(error)
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = reason or info.reason
            info_metadata = dict(info.metadata)
            retry_after = _seconds(info.metadata.get(RETRY_AFTER_KEY), retry_after)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations.extend((v.field, v.description) for v in bad_request.field_violations)
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            retry_after = retry_after or retry.retry_delay.ToTimedelta().total_seconds()
    headers = {}
    # A reason declared not retryable (e.g. a body over its size limit) never invites a retry; a reason this
    # version does not know is judged by its code alone.
    retryable = is_retryable(reason) is not False
    if retry_after is None and code == grpc.StatusCode.UNAVAILABLE:
        retry_after = DEFAULT_UNAVAILABLE_RETRY_AFTER  # e.g. the server itself cannot be reached
    if retryable and retry_after is not None and code in RETRY_AFTER_CODES:
        headers["Retry-After"] = str(max(0, math.ceil(retry_after)))
    extra: dict[str, Any] = {}
    if reason == "VERSION_MISMATCH":
        extra = _version_mismatch(info_metadata, headers)
    return GatewayError(
        HTTP_STATUS_BY_REASON.get(reason) or http_status(code),
        code.name,
        error.details() or code.name,
        reason=reason,
        field_violations=violations,
        headers=headers,
        extra=extra,
    )


def _version_mismatch(metadata: Mapping[str, str], headers: dict[str, str]) -> dict[str, Any]:
    """The body keys of a 412: the record and both versions; the current version is also the ETag."""
    extra: dict[str, Any] = {}
    if "record_id" in metadata:
        extra["record_id"] = metadata["record_id"]
    for key in ("expected_version", "current_version"):
        try:
            extra[key] = int(metadata[key])
        except (KeyError, ValueError):
            continue
    if extra.get("current_version", 0) > 0:
        headers["ETag"] = f'"{extra["current_version"]}"'
    return extra


def _seconds(text: str | None, default: float | None) -> float | None:
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        return default
    return value if math.isfinite(value) else default


def from_http_status(status: int, message: str) -> GatewayError:
    """Errors raised by routing itself (404 no such path, 405 wrong method) in the same body shape."""
    names = {404: "NOT_FOUND", 405: "UNIMPLEMENTED"}
    code = names.get(status) or next(
        (c.name for c, s in HTTP_STATUS_BY_CODE.items() if s == status), grpc.StatusCode.UNKNOWN.name
    )
    return GatewayError(status, code, message)
