"""Every error a task finds, not the first: collected while it runs, stored when it finishes, served page by page.

A task validates its whole payload. Each refused CSV row, JSON record or ingestion item becomes one
ReportedError naming the file, row, column, record id and reason, with the record as it was sent (a CSV
row as a header -> cell object, a JSON record as its object) so that a fixed copy can be sent again.

- `on_invalid=FAIL` (the default, all or nothing): the task FAILS with ReportedErrors once the payload is
  read, and nothing is applied.
- `on_invalid=SKIP`: the valid records are applied, the refused ones are counted as rejected; the task is DONE.

At most `max_reported_errors` are kept; `count` stays exact beyond it. The errors are written in the transaction
that finishes the task (`task_errors`), and only when there is one: a clean task writes nothing more.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import orjson
from google.protobuf import struct_pb2
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from catalogingest.v1 import task_pb2
from service.db.models import TaskErrorRow
from service.domain import paging
from service.errors import TaskFailed

# What error_count means in a task's stored error or result: every error found, reported or not.
ERROR_COUNT = "error_count"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


class OnInvalid(enum.StrEnum):
    """What a write does with a record that fails validation."""

    FAIL = "FAIL"
    SKIP = "SKIP"


def on_invalid_of(params: dict[str, Any]) -> OnInvalid:
    return OnInvalid(params.get("on_invalid") or OnInvalid.FAIL)


@dataclass(frozen=True)
class ReportedError:
    reason: str
    message: str
    file: str = ""
    row: int = 0
    column: str = ""
    record_id: str = ""
    # JSON-able: the record as sent; None when there is no one record (a header, a threshold).
    record: Any = None

    @classmethod
    def of_failure(cls, failure: TaskFailed, record: Any = None) -> ReportedError:
        return cls(
            reason=str(failure.reason),
            message=failure.message,
            file=failure.file,
            row=failure.row,
            column=failure.column,
            record_id=failure.record_id,
            record=record,
        )


class ErrorReport:
    """The errors of one task: the first `cap` kept, all counted."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.count = 0
        self.errors: list[ReportedError] = []

    def __bool__(self) -> bool:
        return self.count > 0

    def add(self, error: ReportedError) -> None:
        self.count += 1
        if len(self.errors) < self.cap:
            self.errors.append(error)

    def counted(self, total: int) -> None:
        """The exact count when the errors were counted elsewhere (more than were added)."""
        self.count = max(self.count, total)

    def add_failure(self, failure: TaskFailed, record: Any = None) -> None:
        self.add(ReportedError.of_failure(failure, record))

    def failed(self) -> ReportedErrors:
        return ReportedErrors(self)


class ReportedErrors(TaskFailed):
    """The task FAILS naming its first error and how many there are; the report holds them all."""

    def __init__(self, report: ErrorReport) -> None:
        first = report.errors[0] if report.errors else ReportedError("INVALID_RECORD", "invalid records")
        message = first.message if report.count == 1 else f"{report.count} errors; the first: {first.message}"
        super().__init__(
            message,
            reason=first.reason,  # type: ignore[arg-type]  # an ErrorReason's value
            file=first.file,
            row=first.row,
            column=first.column,
            record_id=first.record_id,
        )
        self.report = report

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), ERROR_COUNT: self.report.count}


REJECTED_PART = "rejected"


def encode_rejected(errors: list[ReportedError]) -> bytes:
    """Records refused at submission under on_invalid=SKIP, stored as a payload part (JSON lines) for the task."""
    return b"".join(orjson.dumps(error.__dict__) + b"\n" for error in errors)


def decode_rejected(body: bytes) -> list[ReportedError]:
    return [ReportedError(**orjson.loads(line)) for line in body.splitlines() if line]


def with_count(outcome: dict[str, Any], report: ErrorReport | None) -> dict[str, Any]:
    """A task's result or error with how many errors it found (`error_count`); as it is when it found none."""
    return {**outcome, ERROR_COUNT: report.count} if report else outcome


def failure_report(report: ErrorReport | None, failure: TaskFailed, cap: int) -> ErrorReport:
    """What a FAILED task stores: its report, with the failure that ended it when that is not the report itself."""
    report = report if report is not None else ErrorReport(cap)
    if not isinstance(failure, ReportedErrors):
        report.add_failure(failure)
    return report


async def store(conn: AsyncConnection, task_id: int, report: ErrorReport | None) -> None:
    """In the transaction that finishes the task; nothing at all when it has no error."""
    if not report or not report.errors:
        return
    rows = [
        {
            "task_id": task_id,
            "seq": seq,
            "reason": _clean(error.reason),
            "message": _clean(error.message),
            "file": _clean(error.file),
            "row": error.row,
            "column": _clean(error.column),
            "record_id": _clean(error.record_id),
            "record": _record_text(error.record),
        }
        for seq, error in enumerate(report.errors)
    ]
    for start in range(0, len(rows), 1000):
        await conn.execute(insert(TaskErrorRow), rows[start : start + 1000])


def _clean(text: str) -> str:
    """PostgreSQL text cannot hold NUL (a quoted refused value may): escaped as JSON writes it."""
    return text.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode() if text else ""


def _record_text(record: Any) -> str | None:
    if record is None:
        return None
    return _clean(orjson.dumps(record, default=str).decode())


def total_of(error: Any, result: Any) -> int | None:
    """The exact count a task stored with its outcome (FAILED: in its error; DONE: in its result)."""
    for outcome in (error, result):
        if isinstance(outcome, dict) and isinstance(outcome.get(ERROR_COUNT), int):
            return int(outcome[ERROR_COUNT])
    return None


@dataclass
class ErrorPage:
    errors: list[task_pb2.TaskError]
    next_page_token: str
    total_size: int


def page_size(requested: int) -> int:
    if requested <= 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)


async def list_errors(
    session: AsyncSession, task_id: int, *, size: int, page_token: str, total: int | None
) -> ErrorPage:
    """One page of a task's errors in report order; the token is opaque (the next error's place)."""
    after = paging.decode_token(page_token, {"after": int})["after"] if page_token else -1
    rows = (
        await session.execute(
            select(TaskErrorRow)
            .where(TaskErrorRow.task_id == task_id, TaskErrorRow.seq > after)
            .order_by(TaskErrorRow.seq)
            .limit(size + 1)
        )
    ).scalars()
    found = list(rows)
    more = len(found) > size
    found = found[:size]
    if total is None:
        total = (
            await session.execute(select(func.count()).select_from(TaskErrorRow).where(TaskErrorRow.task_id == task_id))
        ).scalar_one()
    return ErrorPage(
        errors=[error_to_proto(row) for row in found],
        next_page_token=paging.encode_token({"after": found[-1].seq}) if more else "",
        total_size=total,
    )


def error_to_proto(row: TaskErrorRow) -> task_pb2.TaskError:
    error = task_pb2.TaskError(
        reason=row.reason,
        message=row.message,
        file=row.file,
        row=row.row,
        column=row.column,
        record_id=row.record_id,
    )
    if row.record is not None:
        value = struct_pb2.Value()
        _fill(value, orjson.loads(row.record))
        error.record.CopyFrom(value)
    return error


def _fill(value: struct_pb2.Value, data: Any) -> None:
    if isinstance(data, dict):
        value.struct_value.update(data)
    elif isinstance(data, list):
        value.list_value.extend(data)
    elif isinstance(data, str):
        value.string_value = data
    elif isinstance(data, bool):
        value.bool_value = data
    elif isinstance(data, int | float):
        value.number_value = data
    else:
        value.null_value = struct_pb2.NULL_VALUE
