"""Domain errors. Each carries the gRPC code and reason it maps to in one place (interceptors)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import grpc

from service.domain.field_paths import FieldPath
from service.error_reasons import ErrorReason

# What an error quotes of a value, and of a whole message or field violation: an error travels in gRPC
# trailing metadata (16 KiB at most, 8 KiB before clients may drop it), so it must fit whatever was sent.
QUOTE_LIMIT = 100
MESSAGE_LIMIT = 300
DESCRIPTION_LIMIT = 300
QUOTE_MARK = "…"


def quote(value: str, limit: int = QUOTE_LIMIT) -> str:
    """`value` for an error: at most `limit` characters, then "…"."""
    return value if len(value) <= limit else value[:limit] + QUOTE_MARK


class CatalogIngestError(Exception):
    """The request could not be served."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    # The class's generic reason; a raise names a more specific one with `reason=`.
    reason: ErrorReason = ErrorReason.INTERNAL

    def __init__(
        self,
        message: str | None = None,
        *,
        reason: ErrorReason | None = None,
        metadata: Mapping[str, str] | None = None,
        field_violations: Sequence[tuple[str | FieldPath, str]] = (),
    ) -> None:
        self.message = quote(message or (self.__doc__ or "").strip(), MESSAGE_LIMIT)
        super().__init__(self.message)
        if reason:
            self.reason = reason
        self.metadata = {quote(k): quote(v) for k, v in (metadata or {}).items()}
        self.field_violations = field_violations

    @property
    def field_violations(self) -> list[tuple[str, str]]:
        """The violations as BadRequest sends them: each path rendered, quoted to QUOTE_LIMIT."""
        return [(quote(str(path)), description) for path, description in self.violations]

    @field_violations.setter
    def field_violations(self, violations: Sequence[tuple[str | FieldPath, str]]) -> None:
        # Kept as FieldPaths: a stream's offset or a prefix is applied to the path, not to its text.
        self.violations: list[tuple[FieldPath, str]] = [
            (path if isinstance(path, FieldPath) else FieldPath.parse(path), quote(description, DESCRIPTION_LIMIT))
            for path, description in violations
        ]


class InvalidArgument(CatalogIngestError):
    """The request is invalid."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = ErrorReason.INVALID_ARGUMENT


def invalid_field(
    field: str | FieldPath, description: str, reason: ErrorReason = ErrorReason.INVALID_ARGUMENT
) -> InvalidArgument:
    """INVALID_ARGUMENT for one field, named in the message and as a BadRequest field violation."""
    return InvalidArgument(f"{field}: {description}", reason=reason, field_violations=[(field, description)])


class Unauthenticated(CatalogIngestError):
    """A valid token is required: send 'authorization: Bearer <token>' or Basic '<token>:'."""

    code = grpc.StatusCode.UNAUTHENTICATED
    reason = ErrorReason.UNAUTHENTICATED


class PermissionDenied(CatalogIngestError):
    """The token may not act for this tenant."""

    code = grpc.StatusCode.PERMISSION_DENIED
    reason = ErrorReason.PERMISSION_DENIED


class NotFound(CatalogIngestError):
    """Not found."""

    code = grpc.StatusCode.NOT_FOUND
    reason = ErrorReason.NOT_FOUND


class AlreadyExists(CatalogIngestError):
    """Already exists."""

    code = grpc.StatusCode.ALREADY_EXISTS
    reason = ErrorReason.ALREADY_EXISTS


class FailedPrecondition(CatalogIngestError):
    """The resource is not in a state that allows this."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = ErrorReason.FAILED_PRECONDITION


class Aborted(CatalogIngestError):
    """The operation was aborted; send it again."""

    code = grpc.StatusCode.ABORTED
    reason = ErrorReason.ABORTED


class DeadlineExceeded(CatalogIngestError):
    """The client sent nothing for too long."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED
    reason = ErrorReason.DEADLINE_EXCEEDED


class ResourceExhausted(CatalogIngestError):
    """Too many requests."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = ErrorReason.RESOURCE_EXHAUSTED


class RateLimited(ResourceExhausted):
    """Too many requests; retry after `retry_after` seconds (sent as a google.rpc.RetryInfo detail)."""

    reason = ErrorReason.RATE_LIMITED

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        reason: ErrorReason | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.retry_after = retry_after


class Unavailable(CatalogIngestError):
    """The service is not available right now."""

    code = grpc.StatusCode.UNAVAILABLE
    reason = ErrorReason.UNAVAILABLE


class DatabaseUnavailable(Unavailable):
    """The database cannot be reached right now; retry after `retry_after` seconds (a google.rpc.RetryInfo)."""

    reason = ErrorReason.DATABASE_UNAVAILABLE
    # A restart or failover takes seconds; a client that waits this long rarely meets the outage twice.
    RETRY_AFTER_SECONDS = 2.0

    def __init__(self, cause: str) -> None:
        super().__init__(f"the database is unavailable: {cause}; retry later")
        self.retry_after = self.RETRY_AFTER_SECONDS


class TaskFailed(Exception):
    """A task cannot be applied; the task FAILS with this reason and nothing it did is kept."""

    def __init__(
        self,
        message: str,
        *,
        reason: ErrorReason = ErrorReason.TASK_FAILED,
        file: str = "",
        row: int = 0,
        column: str = "",
        record_id: str = "",
        version_conflicts: Sequence[Mapping[str, object]] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.file = file
        self.row = row
        self.column = column
        self.record_id = record_id
        # VERSION_MISMATCH: each record whose precondition failed (service.domain.preconditions).
        self.version_conflicts = [dict(c) for c in version_conflicts]

    def as_dict(self) -> dict[str, object]:
        stored: dict[str, object] = {
            "reason": str(self.reason),
            "message": self.message,
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "record_id": self.record_id,
        }
        if self.version_conflicts:
            stored["version_conflicts"] = self.version_conflicts
        return stored
