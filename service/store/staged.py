"""The staged form of a record write, shared by every API and both storage backends."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple, Protocol

from service.error_reasons import ErrorReason
from service.errors import TaskFailed

KIND_NAMES = {1: "items", 2: "variations", 3: "item_groups"}
COLLECTIONS = {name: kind for kind, name in KIND_NAMES.items()}
COUNT_FIELDS = ("created", "updated", "deleted", "unchanged", "rejected")


class StagedRecord(NamedTuple):
    """One record operation. `has_*` says whether a merge was given that field."""

    seq: int
    kind: int
    record_id: str
    context: str
    name: str | None
    has_name: bool
    suggested_score: float | None
    has_score: bool
    parent_id: str | None
    has_parent: bool
    # JSON text (a list), or None.
    parent_ids: str | None
    has_parent_ids: bool
    # JSON text of an object.
    data: str
    op_ts: dt.datetime


def empty_counts() -> dict[str, dict[str, int]]:
    return {name: dict.fromkeys(COUNT_FIELDS, 0) for name in KIND_NAMES.values()}


def add_counts(total: dict[str, dict[str, int]], kind: int, **counts: int) -> None:
    bucket = total[KIND_NAMES[kind]]
    for key, value in counts.items():
        bucket[key] += value


# A task's result names at most this many of the records it skipped.
MAX_SKIPPED_SHOWN = 100


def add_skipped(total: dict[str, Any], kind: int, count: int, record_ids: list[str]) -> None:
    """Operations not applied because their record is missing (or may not be created): rejected, and named."""
    add_counts(total, kind, rejected=count)
    shown = total.setdefault("skipped_record_ids", [])
    shown.extend(record_ids[: max(0, MAX_SKIPPED_SHOWN - len(shown))])


def merge_counts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {kind: {f: a[kind][f] + b[kind][f] for f in COUNT_FIELDS} for kind in a}


# Row numbers of file uploads live in the low bits of `seq`, the kind above them.
ROW_BITS = 40
ID_COLUMNS = {1: "id", 2: "variation_id", 3: "id"}


def row_of(seq: int) -> int:
    return seq & ((1 << ROW_BITS) - 1)


class DuplicateRecord(TaskFailed):
    """One task names the same record twice where that is ambiguous (a row of a file upload)."""

    def __init__(self, kind: int, record_id: str, first_seq: int, second_seq: int) -> None:
        file = f"{KIND_NAMES[kind]}.csv"
        first, second = row_of(first_seq), row_of(second_seq)
        super().__init__(
            f"{file}, row {second}, column '{ID_COLUMNS[kind]}': duplicate id '{record_id}' (first on row {first})",
            reason=ErrorReason.DUPLICATE_ID,
            file=file,
            row=second,
            column=ID_COLUMNS[kind],
            record_id=record_id,
        )


def check_safety_threshold(kind: int, deleted: int, existing: int, force: bool) -> None:
    """The documented guard: a sync may not delete more than half of a kind's records unless forced."""
    if force or deleted * 2 <= existing:
        return
    name = KIND_NAMES[kind]
    raise TaskFailed(
        f"the sync would delete {deleted} of the {existing} existing {name} ({deleted * 100 // existing}%),"
        " more than 50%; nothing was changed. Send force=true to apply it anyway.",
        reason=ErrorReason.SAFETY_THRESHOLD,
        file=f"{name}.csv",
    )


def check_safety_thresholds(
    kinds: list[int], diff: dict[int, dict[str, int]], existing: dict[int, int], force: bool
) -> None:
    """check_safety_threshold for each kind, in order, given the deletes per kind as `diff[kind]["d"]`."""
    for kind in kinds:
        check_safety_threshold(kind, diff[kind]["d"], existing[kind], force)


class ErrorSink(Protocol):
    """Where a task collects every error it finds (service.domain.task_errors.ErrorReport)."""

    cap: int
    count: int

    def add_failure(self, failure: TaskFailed, record: Any = None) -> None: ...

    def counted(self, total: int) -> None: ...

    def failed(self) -> TaskFailed: ...


def orphans_failure(rows: list[Any], report: ErrorSink | None) -> TaskFailed:
    """MISSING_PARENT_ITEM for the variations whose item is missing: rows of (record_id, item_id, seq, total)
    in payload order. Without a report, the first; with one, each listed (up to its cap), the count exact."""
    if report is None:
        return missing_parent(rows[0][0], rows[0][1], rows[0][2])
    before = report.count
    for record_id, item_id, seq, _total in rows:
        report.add_failure(missing_parent(record_id, item_id, seq))
    report.counted(before + rows[0][3])
    return report.failed()


def missing_parent(record_id: str, item_id: str | None, seq: int) -> TaskFailed:
    """A variation whose item does not exist once the task is applied; names the row for file uploads."""
    message = f"variation '{record_id}' names item_id '{item_id}', which does not exist"
    if seq >> ROW_BITS:
        message = f"variations.csv, row {row_of(seq)}, column 'item_id': {message}"
        return TaskFailed(
            message,
            reason=ErrorReason.MISSING_PARENT_ITEM,
            file="variations.csv",
            row=row_of(seq),
            column="item_id",
            record_id=record_id,
        )
    return TaskFailed(message, reason=ErrorReason.MISSING_PARENT_ITEM, column="item_id", record_id=record_id)
