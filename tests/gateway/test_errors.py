"""gRPC errors to HTTP statuses and JSON bodies, from a real AioRpcError with rich status details."""

from __future__ import annotations

import grpc
import orjson
import pytest

from gateway.errors import GatewayError, from_http_status, from_rpc_error, http_status
from gateway.responses import error_response
from tests.gateway.fakes import rich_status

Code = grpc.StatusCode


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (Code.INVALID_ARGUMENT, 400),
        (Code.FAILED_PRECONDITION, 400),
        (Code.OUT_OF_RANGE, 400),
        (Code.UNAUTHENTICATED, 401),
        (Code.PERMISSION_DENIED, 403),
        (Code.NOT_FOUND, 404),
        (Code.ALREADY_EXISTS, 409),
        (Code.ABORTED, 409),
        (Code.RESOURCE_EXHAUSTED, 429),
        (Code.CANCELLED, 499),
        (Code.UNIMPLEMENTED, 501),
        (Code.UNAVAILABLE, 503),
        (Code.DEADLINE_EXCEEDED, 504),
        (Code.INTERNAL, 500),
        (Code.UNKNOWN, 500),
        (Code.DATA_LOSS, 500),
    ],
)
def test_code_to_http_status(code: grpc.StatusCode, status: int) -> None:
    assert http_status(code) == status


def aio_error(status: grpc.Status) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        status.code, grpc.aio.Metadata(), grpc.aio.Metadata(*status.trailing_metadata), details=status.details
    )


def test_error_info_and_bad_request_reach_the_body() -> None:
    status = rich_status(
        Code.INVALID_ARGUMENT,
        "records[3].id: required",
        reason="INVALID_RECORD",
        violations=[("records[3].id", "required"), ("records[4].data", "must be a JSON object")],
    )
    error = from_rpc_error(aio_error(status))
    response = error_response(error)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert orjson.loads(bytes(response.body)) == {
        "message": "records[3].id: required",
        "code": "INVALID_ARGUMENT",
        "reason": "INVALID_RECORD",
        "field_violations": [
            {"field": "records[3].id", "description": "required"},
            {"field": "records[4].data", "description": "must be a JSON object"},
        ],
    }


def test_rate_limit_sets_retry_after() -> None:
    status = rich_status(
        Code.RESOURCE_EXHAUSTED, "slow down", reason="RATE_LIMITED", metadata={"retry_after_seconds": "1.2"}
    )
    response = error_response(from_rpc_error(aio_error(status)))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"


@pytest.mark.parametrize(("code", "http"), [(Code.UNAVAILABLE, 503), (Code.RESOURCE_EXHAUSTED, 429)])
def test_a_retry_info_detail_becomes_retry_after(code: grpc.StatusCode, http: int) -> None:
    """What the server sends for a database outage (and upload caps): google.rpc.RetryInfo, no ErrorInfo hint."""
    from google.protobuf import any_pb2, duration_pb2
    from google.rpc import error_details_pb2, status_pb2
    from grpc_status import rpc_status

    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2, nanos=500_000_000)))
    status = rpc_status.to_status(status_pb2.Status(code=code.value[0], message="later", details=[detail]))
    response = error_response(from_rpc_error(aio_error(status)))
    assert response.status_code == http
    assert response.headers["retry-after"] == "3"


@pytest.mark.parametrize(
    ("reason", "retry_after"),
    [("RATE_LIMITED", "2"), ("SOMETHING_NEWER", "2"), ("PAYLOAD_TOO_LARGE", None)],
)
def test_retry_after_follows_the_declared_retryable_flag(reason: str, retry_after: str | None) -> None:
    """A reason declared not retryable in error_reason.proto gets no Retry-After even with a hint; one this
    version does not declare is judged by its code."""
    status = rich_status(Code.RESOURCE_EXHAUSTED, "no", reason=reason, metadata={"retry_after_seconds": "1.5"})
    response = error_response(from_rpc_error(aio_error(status)))
    assert response.status_code == 429
    assert response.headers.get("retry-after") == retry_after


def test_plain_errors_have_message_and_code_only() -> None:
    error = grpc.aio.AioRpcError(Code.NOT_FOUND, grpc.aio.Metadata(), grpc.aio.Metadata(), details="task 9")
    assert from_rpc_error(error).body() == {"message": "task 9", "code": "NOT_FOUND"}
    assert "retry-after" not in error_response(from_rpc_error(error)).headers


def test_details_that_contradict_the_call_are_ignored() -> None:
    status = rich_status(Code.INVALID_ARGUMENT, "one thing", reason="X")
    error = grpc.aio.AioRpcError(
        Code.NOT_FOUND, grpc.aio.Metadata(), grpc.aio.Metadata(*status.trailing_metadata), details="another"
    )
    assert from_rpc_error(error).body() == {"message": "another", "code": "NOT_FOUND"}


def test_routing_errors_use_the_same_shape() -> None:
    assert from_http_status(404, "Not Found").body() == {"message": "Not Found", "code": "NOT_FOUND"}
    assert from_http_status(405, "Method Not Allowed").code == "UNIMPLEMENTED"
    assert from_http_status(418, "teapot").code == "UNKNOWN"
    assert GatewayError.invalid_argument("page", "bad").body()["message"] == "page: bad"
