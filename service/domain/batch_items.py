"""Items of a batch: per-item checks, then set-based writes ordered by each operation's timestamp.

A batch holds one row per (type, id, context): the item as added (`partial` false), the
modifications received for an item the batch never had (`partial` true; an ingestion merges them
into the version's record), or a tombstone (`deleted`). An operation older than the row's last one
is ignored, so operations delivered out of order converge; an ignored operation still answers 0.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalogingest.v1 import batch_pb2
from service.db.backend import backend_of
from service.domain import values
from service.domain.ids import id_problem
from service.domain.json_depth import TOO_DEEP, too_deep
from service.error_reasons import ErrorReason
from service.errors import NotFound
from service.store.ports import BatchPurged
from service.timeutil import utcnow

Operation = Literal["add", "modify", "delete"]
OPERATIONS: tuple[Operation, ...] = ("add", "modify", "delete")
MAX_TYPE_LENGTH = 1024


class Code(enum.IntEnum):
    """The per-item result codes (stable: clients may switch on them)."""

    OK = 0
    INVALID_ID = 1
    INVALID_CONTEXT = 2
    MISSING_TYPE = 3
    INVALID_TIMESTAMP = 4
    MALFORMED_ITEM = 5
    INVALID_PARENT_ID = 6


@dataclass(frozen=True)
class ItemResult:
    item_id: str
    item_type: str
    context: str
    code: Code = Code.OK
    message: str = ""
    warnings: tuple[str, ...] = ()


def _name_problem(value: str, field: str, *, required: bool) -> str | None:
    """R1, the id rule of every API (wider than the batch document's letters, digits, '_' and '-')."""
    if (problem := id_problem(value, required=required)) is None:
        return None
    return f"{field} {problem}" if not value else f"{field} {values.show(value)} {problem}"


def parse_timestamp(text: str) -> dt.datetime:
    """An RFC 3339 date-time (with its offset) as an aware UTC datetime; ValueError if it is not one."""
    ts = Timestamp()
    ts.FromJsonString(text.strip())
    return ts.ToDatetime(tzinfo=dt.UTC)


def check_item(item: batch_pb2.BatchItem, op: Operation, now: dt.datetime) -> tuple[dict[str, Any] | None, ItemResult]:
    """The row to write for one item (None when refused) and its result."""
    # Each field read once: a proto string field is a new str at every read.
    item_id, item_type, context = item.id, item.type, item.context

    def refused(code: Code, message: str) -> tuple[None, ItemResult]:
        return None, ItemResult(item_id, item_type, context, code, message)

    if item.malformed:
        return refused(Code.MALFORMED_ITEM, item.malformed)
    if problem := _name_problem(item_id, "id", required=True):
        return refused(Code.INVALID_ID, problem)
    if context and (problem := _name_problem(context, "context", required=False)):
        return refused(Code.INVALID_CONTEXT, problem)
    if not item_type.strip():
        return refused(Code.MISSING_TYPE, "type is required")
    if len(item_type) > MAX_TYPE_LENGTH:
        return refused(Code.MISSING_TYPE, f"type is longer than {MAX_TYPE_LENGTH} characters")
    if "\x00" in item_type:
        return refused(Code.MALFORMED_ITEM, "type must not contain NUL characters")
    op_ts = now
    if timestamp := item.timestamp:
        try:
            op_ts = parse_timestamp(timestamp)
        except ValueError:
            return refused(Code.INVALID_TIMESTAMP, f"timestamp '{timestamp}' is not an RFC 3339 date-time")
    parent_id = None
    if op == "delete":
        if "\x00" in item.parent_id:  # ignored by a delete, but NUL is refused everywhere (R5)
            return refused(Code.INVALID_PARENT_ID, "parentId must not contain NUL characters")
    elif item.HasField("parent_id"):
        parent_id = item.parent_id
        if problem := _name_problem(parent_id, "parentId", required=True):
            return refused(Code.INVALID_PARENT_ID, problem)
    attributes: Any = None
    if op != "delete":
        if item.HasField("attributes_json"):
            attributes_json = item.attributes_json
            try:
                attributes = orjson.loads(attributes_json)
            except orjson.JSONDecodeError:
                return refused(Code.MALFORMED_ITEM, "attributes is not valid JSON")
            if not isinstance(attributes, dict):
                return refused(Code.MALFORMED_ITEM, "attributes must be a JSON object")
            if too_deep(attributes, attributes_json):
                return refused(Code.MALFORMED_ITEM, f"attributes: {TOO_DEEP}")
            # R5: NUL, and numbers that would not read back as sent, are refused on both backends alike.
            # A value that needs no rewrite comes back as its JSON text, written as it is.
            attributes, problems = values.check_json(attributes, "attributes")
            if problems:
                path, problem = problems[0]
                return refused(Code.MALFORMED_ITEM, f"{path} {problem}")
        elif op == "add":
            return refused(Code.MALFORMED_ITEM, "attributes is required")
    row = {
        "item_type": item_type,
        "item_id": item_id,
        "context": context,
        "parent_id": parent_id,
        "attributes": attributes if op != "modify" else (attributes or {}),
        "deleted": op == "delete",
        "partial": op == "modify",
        "op_ts": op_ts,
    }
    unknown = item.unknown_keys
    warnings = tuple(f"unknown key '{key}' ignored" for key in unknown) if unknown else ()
    return row, ItemResult(item_id, item_type, context, warnings=warnings)


def _rounds(rows: list[dict[str, Any]], op: Operation) -> list[list[dict[str, Any]]]:
    """Statements may not touch a row twice: each round holds one operation per item, oldest first.
    An add or delete wholly replaces the row, so only the newest of an item's adds or deletes matters."""
    by_key: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in rows:  # request order: among equal timestamps the later operation wins
        by_key.setdefault((row["item_type"], row["item_id"], row["context"]), []).append(row)
    rounds: list[list[dict[str, Any]]] = []
    for ops in by_key.values():
        ordered = sorted(ops, key=lambda r: r["op_ts"])
        if op != "modify":
            ordered = ordered[-1:]
        for n, row in enumerate(ordered):
            if n == len(rounds):
                rounds.append([])
            rounds[n].append(row)
    return rounds


async def write_items(
    session: AsyncSession, batch_pk: str, op: Operation, items: Sequence[batch_pb2.BatchItem]
) -> list[ItemResult]:
    """Check every item, write the valid ones (a few set-based statements), commit; results in item order."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    results: list[ItemResult] = []
    for item in items:
        row, result = check_item(item, op, now)
        results.append(result)
        if row is not None:
            rows.append({"batch_id": batch_pk, **row})
    try:
        await backend_of(session).write_batch_items(session, op == "modify", _rounds(rows, op))
        await session.commit()
    except (BatchPurged, IntegrityError):
        # The batch was purged between its lookup and this write.
        await session.rollback()
        raise NotFound("the batch expired", reason=ErrorReason.BATCH_NOT_FOUND) from None
    return results
