"""The staged form of a record write, shared by every API and both storage backends."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

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


def merge_counts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {kind: {f: a[kind][f] + b[kind][f] for f in COUNT_FIELDS} for kind in a}
