"""Records between their proto form, their staged form and their stored rows; write validation."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from catalogingest.v1 import record_pb2
from service.domain import values
from service.domain.field_paths import FieldPath
from service.domain.ids import id_problem
from service.domain.json_depth import TOO_DEEP, too_deep
from service.domain.task_errors import ReportedError
from service.error_reasons import ErrorReason
from service.errors import InvalidArgument, quote
from service.store.staged import COLLECTIONS, StagedRecord
from service.timeutil import to_timestamp, utcnow

# The range of google.protobuf.Timestamp (0001-01-01 to 9999-12-31, UTC).
MIN_SECONDS, MAX_SECONDS = -62135596800, 253402300799
KIND_BY_COLLECTION = COLLECTIONS


def kind_for_collection(collection: str) -> int:
    kind = COLLECTIONS.get(collection)
    if kind is None:
        raise InvalidArgument(
            f"collection must be one of items, variations, item_groups (got '{quote(collection)}')",
            field_violations=[("collection", "must be items, variations or item_groups")],
        )
    return kind


def validate_records(
    records: Sequence[record_pb2.Record], kind: int, *, merge: bool = False, delete: bool = False, limit: int
) -> list[str]:
    """Checks that need no database; returns each record's `data` as canonical JSON text (`{}` for a delete:
    its data is never read). Errors name records[i].field."""
    check_record_count(records, limit)
    violations: list[tuple[FieldPath, str]] = []
    texts: list[str] = []
    for i, record in enumerate(records):
        text, problems = record_problems(record, i, kind, merge=merge, delete=delete)
        violations += problems
        texts.append(text)
        if len(violations) >= 20:
            break
    if violations:
        field, description = violations[0]
        raise InvalidArgument(f"{field}: {description}", reason=ErrorReason.INVALID_RECORD, field_violations=violations)
    return texts


def check_record_count(records: Sequence[record_pb2.Record], limit: int) -> None:
    if len(records) > limit:
        raise InvalidArgument(
            f"at most {limit} records per call (got {len(records)})",
            reason=ErrorReason.TOO_MANY_RECORDS,
            metadata={"limit": str(limit)},
            field_violations=[("records", f"at most {limit} records per call")],
        )
    if not records:
        raise InvalidArgument("no records given", field_violations=[("records", "at least one record is required")])


def record_problems(
    record: record_pb2.Record, i: int, kind: int, *, merge: bool = False, delete: bool = False
) -> tuple[str, list[tuple[FieldPath, str]]]:
    """One record's `data` as canonical JSON text (`{}` for a delete) and what is wrong with it (each naming
    records[i].field)."""
    violations: list[tuple[FieldPath, str]] = []
    if record.kind not in (0, kind):
        violations.append((_at(i) / "kind", "does not match the collection"))
    if (problem := id_problem(record.id)) is not None:
        violations.append((_at(i) / "id", problem))
    if (problem := id_problem(record.context, required=False)) is not None:
        violations.append((_at(i) / "context", problem))
    if record.HasField("timestamp") and not (
        MIN_SECONDS <= record.timestamp.seconds <= MAX_SECONDS and 0 <= record.timestamp.nanos < 1_000_000_000
    ):
        violations.append((_at(i) / "timestamp", "must be between 0001-01-01 and 9999-12-31"))
    # PostgreSQL text cannot hold NUL; refused on every backend alike, deletes included (their other
    # fields are staged too). References follow the id rule.
    if (problem := values.text_problem(record.name)) is not None:
        violations.append((_at(i) / "name", problem))
    if delete:
        for j, text in enumerate([record.item_id, *record.parent_ids]):
            if (problem := values.text_problem(text)) is not None:
                violations.append((_at(i) / "item_id" if j == 0 else _at(i) / "parent_ids" / (j - 1), problem))
    else:
        if record.item_id and (problem := id_problem(record.item_id)) is not None:
            violations.append((_at(i) / "item_id", problem))
        for j, parent in enumerate(record.parent_ids):
            if (problem := id_problem(parent)) is not None:
                violations.append((_at(i) / "parent_ids" / j, problem))
    if record.HasField("expected_version") and record.expected_version < -1:
        violations.append((_at(i) / "expected_version", "must be a version, 0 (must not exist) or -1 (must exist)"))
    if not delete and record.HasField("suggested_score") and not math.isfinite(record.suggested_score):
        violations.append((_at(i) / "suggested_score", "must be a finite number"))
    text = "{}"
    data_json = record.data_json
    if data_json and not delete:
        data: Any = {}
        try:
            data = orjson.loads(data_json)
        except orjson.JSONDecodeError as exc:
            violations.append((_at(i) / "data", f"not valid JSON: {exc}"))
        if not isinstance(data, dict):
            violations.append((_at(i) / "data", "must be a JSON object"))
        elif too_deep(data, data_json):
            violations.append((_at(i) / "data", TOO_DEEP))
        else:
            plain = values.plain_canonical(data)
            if plain is not None:
                text = plain
            else:
                text, problems = values.canonical(data, str(_at(i) / "data"))
                violations += [(FieldPath.parse(f), d) for f, d in problems]
    if kind == 2 and not delete and not merge and not record.item_id:
        violations.append((_at(i) / "item_id", "required for a variation"))
    if kind != 2 and record.HasField("item_id"):
        violations.append((_at(i) / "item_id", "only variations have an item_id"))
    if kind != 3 and record.parent_ids:
        violations.append((_at(i) / "parent_ids", "only item groups have parent_ids"))
    return text, violations


def _at(i: int) -> FieldPath:
    """`records[i]`, made only for a record with something to name (most have nothing)."""
    return FieldPath.of("records", i)


def record_as_sent(record: record_pb2.Record) -> dict[str, Any]:
    """A record in the /v2 JSON form (what a fixed copy is sent again as)."""
    sent: dict[str, Any] = {"id": record.id}
    if record.HasField("name"):
        sent["name"] = record.name
    if record.HasField("item_id"):
        sent["item_id"] = record.item_id
    if record.parent_ids:
        sent["parent_ids"] = list(record.parent_ids)
    if record.HasField("suggested_score"):
        sent["suggested_score"] = record.suggested_score if math.isfinite(record.suggested_score) else None
    if record.context:
        sent["context"] = record.context
    if record.HasField("timestamp"):
        sent["timestamp"] = (
            record.timestamp.ToJsonString() if MIN_SECONDS <= record.timestamp.seconds <= MAX_SECONDS else None
        )
    if record.data_json:
        try:
            sent["data"] = orjson.loads(record.data_json)
        except orjson.JSONDecodeError:
            sent["data"] = record.data_json
    return sent


def rejected_record(record: record_pb2.Record, problems: list[tuple[FieldPath, str]]) -> ReportedError:
    """A record refused under on_invalid=SKIP: every problem in the message, the first field as the column."""
    return ReportedError(
        reason=ErrorReason.INVALID_RECORD,
        message="; ".join(f"{field}: {description}" for field, description in problems),
        column=str(problems[0][0]),
        record_id=record.id,
        record=record_as_sent(record),
    )


def canonical_json(data: dict[str, Any]) -> str:
    """Sorted keys: the stored text is canonical, so re-sending a record compares equal (SQLite)."""
    return values.dumps(data)


def to_staged(records: Iterable[record_pb2.Record], kind: int, start_seq: int = 0) -> list[StagedRecord]:
    """Records validated and canonicalised at submission (CatalogServicer._validate) as staged rows."""
    now = utcnow()
    utc = dt.UTC
    group = kind == 3
    staged = []
    append = staged.append
    for seq, record in enumerate(records, start=start_seq):
        # HasField once per field: each read of a proto field builds a new Python object.
        has_name = record.HasField("name")
        has_score = record.HasField("suggested_score")
        has_parent = record.HasField("item_id")
        parent_ids = list(record.parent_ids) if group else None
        append(
            StagedRecord(
                seq,
                kind,
                record.id,
                record.context,
                record.name if has_name else None,
                has_name,
                record.suggested_score if has_score else None,
                has_score,
                record.item_id if has_parent else None,
                has_parent,
                orjson.dumps(parent_ids).decode() if parent_ids is not None else None,
                bool(parent_ids),
                record.data_json or "{}",
                record.timestamp.ToDatetime(utc) if record.HasField("timestamp") else now,
            )
        )
    return staged


def stored_as_staged(row: Any, seq: int) -> StagedRecord:
    """A stored row (RECORD_COLUMNS) staged as it is: a sync then keeps it unchanged."""
    data = row.data if isinstance(row.data, str) else _stored_json(row.data or {})
    parent_ids = (
        row.parent_ids if row.parent_ids is None or isinstance(row.parent_ids, str) else values.dumps(row.parent_ids)
    )
    return StagedRecord(
        seq=seq,
        kind=row.kind,
        record_id=row.record_id,
        context=row.context,
        name=row.name,
        has_name=row.name is not None,
        suggested_score=row.suggested_score,
        has_score=row.suggested_score is not None,
        parent_id=row.parent_id,
        has_parent=row.parent_id is not None,
        parent_ids=parent_ids,
        has_parent_ids=parent_ids is not None,
        data=data,
        op_ts=row.op_ts,
    )


def row_to_proto(row: Any) -> record_pb2.Record:
    """A stored row (kind, record_id, context, name, suggested_score, parent_id, parent_ids, data, op_ts,
    version, updated_at: service.store.record_reads.RECORD_COLUMNS)."""
    record = record_pb2.Record(kind=row.kind, id=row.record_id, context=row.context)
    if row.name is not None:
        record.name = row.name
    if row.suggested_score is not None:
        record.suggested_score = row.suggested_score
    if row.kind == 2 and row.parent_id is not None:
        record.item_id = row.parent_id
    parent_ids = _json(row.parent_ids)
    if parent_ids:
        record.parent_ids.extend(parent_ids)
    data = row.data if isinstance(row.data, str) else _stored_json(row.data or {})
    record.data_json = data
    record.timestamp.CopyFrom(to_timestamp(row.op_ts))
    record.version = row.version
    record.update_time.CopyFrom(to_timestamp(row.updated_at))
    return record


def _json(value: Any) -> Any:
    return values.loads(value) if isinstance(value, str | bytes) else value


def _stored_json(value: Any) -> str:
    """A stored value as JSON text, keys sorted as written (PostgreSQL's jsonb reorders them: without sorting,
    the two backends would answer the same record with different text); json for what orjson cannot write (an
    integer past 64 bits, stored by an older version): one such value must not fail the read."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str, sort_keys=True)
