"""ErrorReason: every reason declared in protos/catalogingest/v1/error_reason.proto, as the string the wire carries.

The proto is the one declaration. This module turns it into a StrEnum whose values are the names without the
`ERROR_REASON_` prefix (`ErrorReason.INVALID_RECORD == "INVALID_RECORD"`), so a reason goes into
google.rpc.ErrorInfo, a JSON body or a stored task error as it is, and reads each value's ErrorReasonSpec
(codes, HTTP statuses, retryable, task) from the descriptor.
"""

from __future__ import annotations

import enum

import grpc

from catalogingest.v1 import error_reason_pb2

PREFIX = "ERROR_REASON_"
_DESCRIPTOR = error_reason_pb2.ErrorReason.DESCRIPTOR
_STATUS_CODES = {code.value[0]: code for code in grpc.StatusCode}


class _Declared(enum.StrEnum):
    """What every ErrorReason value declares in the proto."""

    @property
    def spec(self) -> error_reason_pb2.ErrorReasonSpec:
        options = _DESCRIPTOR.values_by_name[PREFIX + self.value].GetOptions()
        return options.Extensions[error_reason_pb2.error_reason_spec]

    @property
    def codes(self) -> frozenset[grpc.StatusCode]:
        """The gRPC codes an RPC fails with when it gives this reason (empty for a task-only reason)."""
        return frozenset(_STATUS_CODES[code] for code in self.spec.codes)

    @property
    def http_statuses(self) -> frozenset[int]:
        return frozenset(self.spec.http_statuses)

    @property
    def retryable(self) -> bool:
        """Sending the same request again later can succeed."""
        return self.spec.retryable

    @property
    def task(self) -> bool:
        """Also the `error.reason` of a FAILED task."""
        return self.spec.task


# Built from the descriptor rather than spelled out again, so the proto stays the only list. Members are
# ErrorReason.<NAME>; tests/test_error_reasons.py checks every reason the code names is one of them.
ErrorReason = _Declared(
    "ErrorReason",
    [(name.removeprefix(PREFIX),) * 2 for name, value in _DESCRIPTOR.values_by_name.items() if value.number != 0],
    module=__name__,
)


def is_retryable(reason: str) -> bool | None:
    """Whether a reason read off the wire is declared retryable; None for one this version does not declare."""
    try:
        return ErrorReason(reason).retryable
    except ValueError:
        return None
