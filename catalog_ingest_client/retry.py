"""When a failed call may be sent again, and after how long.

A call is retried only when repeating it cannot apply anything twice: reads, and writes that carry an
idempotency key the client generated (the server answers a repeat with the first task), failing with a
retryable code whose reason (ErrorInfo) is not declared unretryable in error_reason.proto. Streams are
retried only when their source can be read again. The delay is the server's when it says one
(google.rpc.RetryInfo, or ErrorInfo metadata `retry_after_seconds`), else exponential backoff with jitter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from catalogingest.v1 import error_reason_pb2

# The ErrorInfo metadata key the server and gateway use for a rate-limited call's delay.
RETRY_AFTER_KEY = "retry_after_seconds"
# Codes that say "not done, try again": the server was unreachable, busy or rate-limited the call.
RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED})

# Methods that read, or write only under an idempotency key, by full gRPC path.
READ_METHODS = frozenset(
    {
        "/catalogingest.v1.TaskService/GetTask",
        "/catalogingest.v1.TaskService/ListTasks",
        "/catalogingest.v1.TaskService/WatchTask",
        "/catalogingest.v1.TaskService/GetIngestionStatus",
        "/catalogingest.v1.CatalogService/BatchGetRecords",
        "/catalogingest.v1.CatalogService/ListRecords",
        "/catalogingest.v1.CatalogService/GetCatalogDefinition",
        "/catalogingest.v1.CatalogService/ListCatalogDefinitions",
        "/catalogingest.v1.BatchService/ListBatches",
        "/catalogingest.v1.BatchService/GetIngestion",
        "/catalogingest.v1.BatchService/ListIngestions",
        "/catalogingest.v1.BatchService/ListCatalogVersions",
        "/catalogingest.v1.BatchService/GetActiveCatalogVersion",
    }
)
# Writes the server de-duplicates by the `idempotency-key` metadata.
IDEMPOTENT_WRITES = frozenset(
    {
        "/catalogingest.v1.CatalogService/ReplaceRecords",
        "/catalogingest.v1.CatalogService/UpdateRecords",
        "/catalogingest.v1.CatalogService/DeleteRecords",
        "/catalogingest.v1.CatalogService/StreamRecords",
    }
)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry. `max_attempts=1` turns retries off."""

    max_attempts: int = 5
    initial_backoff: float = 0.2
    max_backoff: float = 10.0
    multiplier: float = 2.0
    # The longest server-given delay honoured; a longer one ends the retries (the caller decides).
    max_server_delay: float = 60.0

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max, initial * multiplier^(attempt-1))]."""
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier ** max(0, attempt - 1))
        return random.uniform(0, ceiling)


NO_RETRY = RetryPolicy(max_attempts=1)


def is_safe(method: str, *, idempotency_key: bool) -> bool:
    """Whether repeating `method` cannot apply anything twice."""
    return method in READ_METHODS or (idempotency_key and method in IDEMPOTENT_WRITES)


def server_delay(error: grpc.RpcError) -> float | None:
    """The delay the server asked for in the error's google.rpc.Status details, if any."""
    try:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
    except (ValueError, AttributeError):
        return None
    delay: float | None = None
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.ToTimedelta().total_seconds()
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            error_info = error_details_pb2.ErrorInfo()
            detail.Unpack(error_info)
            try:
                delay = float(error_info.metadata[RETRY_AFTER_KEY])
            except (KeyError, ValueError):
                pass
    return delay


def declared_retryable(error: grpc.RpcError) -> bool | None:
    """What error_reason.proto declares of the error's ErrorInfo reason; None without one, or for a reason
    this client's copy of the protos does not know (a newer server): then the code decides."""
    try:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
    except (ValueError, AttributeError):
        return None
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            value = error_reason_pb2.ErrorReason.DESCRIPTOR.values_by_name.get("ERROR_REASON_" + info.reason)
            if value is None:
                return None
            return bool(value.GetOptions().Extensions[error_reason_pb2.error_reason_spec].retryable)
    return None


def delay_before_retry(
    error: grpc.RpcError, method: str, attempt: int, policy: RetryPolicy, *, idempotency_key: bool
) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None when the error is final."""
    code = error.code() if hasattr(error, "code") else None
    if attempt >= policy.max_attempts or code not in RETRYABLE_CODES:
        return None
    if not is_safe(method, idempotency_key=idempotency_key) or declared_retryable(error) is False:
        return None
    asked = server_delay(error)
    if asked is not None:
        return max(0.0, asked) if asked <= policy.max_server_delay else None
    return policy.backoff(attempt)


def retry_after_header(value: str | None, policy: RetryPolicy, attempt: int) -> float:
    """The HTTP Retry-After (seconds) or the backoff when it is missing or a date we do not parse."""
    if value is not None:
        try:
            return min(max(0.0, float(value)), policy.max_server_delay)
        except ValueError:
            pass
    return policy.backoff(attempt)
