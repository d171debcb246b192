"""Record history: what each stored change says (RecordChange), and a record as it was at a time (as_of).

A change row (service.store.record_history) holds the whole record on each side of an UPDATE (`before_*`,
`after_*`: the record's columns) and before a DELETE; a CREATE holds neither. What changed is worked out
here, when read. A record's state at a time is its current state with every later change
undone, newest first (each undo restores the change's `before`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

import orjson

from catalogingest.v1 import record_history_pb2
from service.domain import values
from service.error_reasons import ErrorReason
from service.errors import FailedPrecondition, NotFound, quote
from service.timeutil import as_utc, to_timestamp

OPERATIONS = {
    "CREATE": record_history_pb2.RECORD_OPERATION_CREATE,
    "UPDATE": record_history_pb2.RECORD_OPERATION_UPDATE,
    "DELETE": record_history_pb2.RECORD_OPERATION_DELETE,
}
_COLUMNS = ("name", "suggested_score", "parent_id", "parent_ids")


def _json(value: Any) -> Any:
    """A stored JSON value (SQLite hands back text where PostgreSQL hands back the value)."""
    return values.loads(value) if isinstance(value, str | bytes) else value


def _text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _column_field(kind: int, column: str) -> str:
    return "item_id" if column == "parent_id" and kind == 2 else column


def _columns(row: Any, side: str) -> dict[str, Any]:
    """The record columns of one side of a stored change (`before_*` or `after_*`)."""
    values = {column: getattr(row, f"{side}_{column}") for column in _COLUMNS}
    values["parent_ids"] = _json(values["parent_ids"])
    return values


def _side(row: Any, side: str) -> dict[str, Any]:
    """One side of a stored change as {"fields": {column: value}, "data": {...}}."""
    return {"fields": _columns(row, side), "data": _json(getattr(row, f"{side}_data"))}


def field_changes(kind: int, operation: str, before: Any, after: Any) -> list[record_history_pb2.FieldChange]:
    """The attributes a change touched, in a stable order (columns, then data keys, then facets): for an update
    those whose values differ (facets per facet when both sides hold a facets object), for a delete every one.
    `before` and `after` are the sides as _side reads them."""
    before, after = before or {}, after or {}
    changes: list[record_history_pb2.FieldChange] = []

    def add(field: str, old: dict[str, Any], new: dict[str, Any], key: str) -> None:
        if (key in old and key in new and old[key] == new[key]) or (key not in old and key not in new):
            return
        change = record_history_pb2.FieldChange(field=field)
        if key in old:
            change.before_json = _text(old[key])
        if key in new:
            change.after_json = _text(new[key])
        changes.append(change)

    if operation == "CREATE":
        return changes
    old_fields, new_fields = before.get("fields") or {}, after.get("fields") or {}
    for column in _COLUMNS:
        if operation == "DELETE" and old_fields.get(column) is None:
            continue
        add(_column_field(kind, column), old_fields, new_fields if operation == "UPDATE" else {}, column)
    old_data = dict(_json(before.get("data")) or {})
    new_data = dict(_json(after.get("data")) or {})
    old_facets, new_facets = old_data.get("facets"), new_data.get("facets")
    per_facet = operation == "UPDATE" and isinstance(old_facets, dict) and isinstance(new_facets, dict)
    if per_facet:
        old_data.pop("facets")
        new_data.pop("facets")
    for key in sorted(set(old_data) | set(new_data)):
        add(f"data.{key}", old_data, new_data, key)
    if per_facet:
        for key in sorted(set(old_facets) | set(new_facets)):
            add(f"data.facets.{key}", old_facets, new_facets, key)
    return changes


def change_to_proto(row: Any) -> record_history_pb2.RecordChange:
    """A stored change (service.store.record_history.HISTORY_COLUMNS) as the API shows it."""
    return record_history_pb2.RecordChange(
        kind=row.kind,
        id=row.record_id,
        context=row.context,
        operation=OPERATIONS[row.operation],
        change_time=to_timestamp(row.changed_at),
        task_id=row.task_id,
        task_type=row.task_type,
        request_id=row.request_id or "",
        fields=field_changes(
            row.kind,
            row.operation,
            _side(row, "before") if row.operation != "CREATE" else None,
            _side(row, "after") if row.operation == "UPDATE" else None,
        ),
    )


def state_of(row: Any) -> dict[str, Any]:
    """A stored record (service.store.record_reads.RECORD_COLUMNS) as the state history rewinds."""
    return {
        "name": row.name,
        "suggested_score": row.suggested_score,
        "parent_id": row.parent_id,
        "parent_ids": _json(row.parent_ids),
        "data": dict(_json(row.data) or {}),
        "op_ts": row.op_ts,
        "version": row.version,
        "updated_at": row.updated_at,
    }


def undo(state: dict[str, Any] | None, change: Any) -> dict[str, Any] | None:
    """The state before `change` (its whole `before`), from the state after it."""
    if change.operation == "CREATE":
        return None
    return {
        **_columns(change, "before"),
        "data": dict(_json(change.before_data) or {}),
        "op_ts": change.before_op_ts,
        "version": change.before_version or 0,
        "updated_at": change.before_updated_at or change.before_op_ts,
    }


def as_of(current: Any | None, later_changes: Iterable[Any]) -> dict[str, Any] | None:
    """The record's state before `later_changes` (newest first), from its current row (None: none now)."""
    state = state_of(current) if current is not None else None
    for change in later_changes:
        state = undo(state, change)
    return state


def state_row(kind: int, record_id: str, context: str, state: dict[str, Any]) -> SimpleNamespace:
    """A state as the row service.domain.records.row_to_proto reads."""
    return SimpleNamespace(
        kind=kind,
        record_id=record_id,
        context=context,
        **{**state, "op_ts": as_utc(state["op_ts"]), "updated_at": as_utc(state["updated_at"])},
    )


def check_as_of(as_of_time: dt.datetime, now: dt.datetime, retention_seconds: float) -> None:
    """A point-in-time read needs the history from then on: refused with history off or before its retention."""
    if retention_seconds <= 0:
        raise FailedPrecondition(
            "as_of needs the record history, which is off (CATALOG_INGEST_HISTORY_RETENTION_SECONDS=0)",
            reason=ErrorReason.HISTORY_NOT_KEPT,
        )
    kept_since = now - dt.timedelta(seconds=retention_seconds)
    if as_of_time < kept_since:
        since = kept_since.isoformat().replace("+00:00", "Z")
        raise FailedPrecondition(
            f"as_of {as_of_time.isoformat().replace('+00:00', 'Z')} is before the record history kept"
            f" (changes are kept {retention_seconds:g} s: since {since})",
            reason=ErrorReason.HISTORY_NOT_KEPT,
            metadata={"kept_since": since},
        )


def record_absent(collection: str, record_id: str, as_of_time: dt.datetime | None) -> NotFound:
    when = "" if as_of_time is None else f" at {as_of_time.isoformat().replace('+00:00', 'Z')}"
    return NotFound(
        f"no {collection} record '{quote(record_id)}'{when}",
        reason=ErrorReason.RECORD_ABSENT,
        metadata={"id": record_id},
    )
