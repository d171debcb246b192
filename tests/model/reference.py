"""The reference model: what one catalog of a tenant must hold after each acknowledged write, by the lead's
integrity rules R1-R8 (README, "Integrity rules"), in plain Python.

Times are ordering keys only: an operation with an explicit (batch) timestamp gets its epoch seconds (the
generators keep them in 2020, before any real "now"); every other operation gets the next tick of a logical
clock that starts above every explicit time, in the order the service performs them (a task at its apply
time, a batch item at its write). Only their order matters, so the model never reads a clock.
"""

from __future__ import annotations

import copy
import unicodedata
from dataclasses import dataclass, field
from typing import Any

ITEM, VARIATION, GROUP = 1, 2, 3
COLLECTIONS = {ITEM: "items", VARIATION: "variations", GROUP: "item_groups"}
COUNT_FIELDS = ("created", "updated", "deleted", "unchanged", "rejected")
Key = tuple[int, str, str]  # kind, id, context
NOW_BASE = 10**18  # microseconds: above every explicit timestamp the generators make (2020)


class Failed(Exception):
    """The task fails as a whole and changes nothing; `reason` is the TaskError reason when one is ruled."""

    def __init__(self, reason: str | None, what: str, columns: list[str] | None = None) -> None:
        super().__init__(what)
        self.reason = reason
        self.columns = columns  # a CSV error: the columns at fault (the task names one of them)


class Ambiguous(Exception):
    """The rules do not decide this input's outcome: the machine does not send it."""


# Set while exploring past a known discrepancy (MODEL_EXCLUDE=cascade): a cascading write is not sent.
LEAVE_OUT_CASCADES = False


def id_problem(value: str) -> str | None:
    """R1, for every API and kind, and for batch contexts."""
    if not 1 <= len(value) <= 256:
        return "length"
    if "/" in value:
        return "slash"
    if any(unicodedata.category(c) == "Cc" for c in value):
        return "control character"
    if value != value.strip():
        return "surrounding whitespace"
    return None


def number_ok(value: Any) -> bool:
    """R5: a number that reads back as sent on both backends."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return value == value and abs(value) < 2.0**63


def json_ok(value: Any) -> bool:
    """R5: no NUL anywhere, every number readable back."""
    if isinstance(value, str):
        return "\x00" not in value
    if isinstance(value, int | float):
        return number_ok(value)
    if isinstance(value, dict):
        return all(json_ok(k) and json_ok(v) for k, v in value.items())
    if isinstance(value, list):
        return all(json_ok(v) for v in value)
    return True


def merge_data(old: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A record merge: the patch's keys replace the old ones, facets merge per facet, null removes (R8)."""
    merged = dict(old)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif key == "facets" and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


@dataclass
class Rec:
    kind: int
    id: str
    context: str = ""
    name: str | None = None
    score: float | None = None
    item_id: str | None = None
    parent_ids: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    ts: int = 0
    # (name, suggested_score) a batch upsert replaced: whether it keeps or blanks them the rules leave open,
    # so the first read-back decides (and the model keeps what it read).
    open_typed: tuple[str | None, float | None] | None = None

    @property
    def key(self) -> Key:
        return (self.kind, self.id, self.context)

    def content(self) -> Any:
        return (self.name, self.score, self.item_id, self.parent_ids, self.data)

    def view(self) -> dict[str, Any]:
        """What GET /v2/<collection> shows (and ListRecords, once shaped alike)."""
        out: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.score is not None:
            out["suggested_score"] = self.score
        if self.kind == VARIATION:
            out["item_id"] = self.item_id
        if self.kind == GROUP:
            out["parent_ids"] = list(self.parent_ids)
        if self.context:
            out["context"] = self.context
        out["data"] = self.data
        return out


Version = dict[Key, Rec]
Counts = dict[str, dict[str, int | None]]


def empty_counts() -> Counts:
    return {name: dict.fromkeys(COUNT_FIELDS, 0) for name in COLLECTIONS.values()}


def bump(counts: Counts, kind: int, name: str, n: int = 1) -> None:
    bucket = counts[COLLECTIONS[kind]]
    if bucket[name] is not None:
        bucket[name] += n  # type: ignore[operator]


def blur(counts: Counts, kind: int, *names: str) -> None:
    """A count the rules leave open (e.g. re-writing a record of another source as it was)."""
    for name in names:
        counts[COLLECTIONS[kind]][name] = None


@dataclass
class Write:
    """One record of a write: the fields it gives (a merge changes only those; a replace blanks the rest)."""

    key: Key
    fields: dict[str, Any]  # name, score, item_id, parent_ids: given values; data: the object (or patch)


def replace_record(version: Version, w: Write, ts: int, counts: Counts, source: str = "") -> None:
    old = version.get(w.key)
    new = Rec(*w.key, source=source, ts=ts)
    new.name = w.fields.get("name")
    new.score = w.fields.get("score")
    new.item_id = w.fields.get("item_id")
    new.parent_ids = list(w.fields.get("parent_ids") or [])
    new.data = dict(w.fields.get("data") or {})
    if old is not None and old.ts > ts:
        bump(counts, w.key[0], "unchanged")
        return
    version[w.key] = new
    if old is None:
        bump(counts, w.key[0], "created")
    elif old.source != source:
        blur(counts, w.key[0], "updated", "unchanged")
    else:
        bump(counts, w.key[0], "unchanged" if old.content() == new.content() else "updated")


def merge_record(version: Version, w: Write, ts: int, counts: Counts, create: bool) -> bool:
    """False when the record is missing and not created."""
    old = version.get(w.key)
    if old is None:
        if not create:
            return False
        replace_record(
            version, Write(w.key, {**w.fields, "data": merge_data({}, w.fields.get("data") or {})}), ts, counts
        )
        return True
    if old.ts > ts:
        bump(counts, w.key[0], "unchanged")
        return True
    new = copy.deepcopy(old)
    for name in ("name", "score", "item_id"):
        if name in w.fields:
            setattr(new, name, w.fields[name])
    if "parent_ids" in w.fields:
        new.parent_ids = list(w.fields["parent_ids"])
    new.data = merge_data(old.data, w.fields.get("data") or {})
    new.ts = ts  # a merge keeps the record's source (R4, DESIGN rule 10)
    version[w.key] = new
    bump(counts, w.key[0], "unchanged" if old.content() == new.content() else "updated")
    return True


def check_links(before: Version, after: Version, written: set[Key], counts: Counts | None) -> list[Key]:
    """R2 at commit: cascade the variations of deleted items, refuse every link left dangling.

    A variation this task wrote must have its item (no cascade saves it); a variation of an item this
    task deleted goes with it. Returns the cascaded variation keys."""
    cascaded: list[Key] = []
    reasons: list[str | None] = []
    for key, rec in list(after.items()):
        if rec.kind != VARIATION or (ITEM, rec.item_id or "", rec.context) in after:
            continue
        parent = (ITEM, rec.item_id or "", rec.context)
        if key in written or parent not in before:
            reasons.append("MISSING_PARENT_ITEM")
            continue
        if LEAVE_OUT_CASCADES:
            raise Ambiguous("left out: a cascade")
        del after[key]
        cascaded.append(key)
        if counts is not None:
            bump(counts, VARIATION, "deleted")
    for rec in after.values():
        if rec.kind == ITEM and isinstance(rec.data.get("group_ids"), list):
            reasons += [None for gid in rec.data["group_ids"] if (GROUP, gid, "") not in after]
        if rec.kind == GROUP:
            reasons += [None for gid in rec.parent_ids if (GROUP, gid, "") not in after]
    parents = {rec.id: rec.parent_ids for rec in after.values() if rec.kind == GROUP}
    for start in parents:
        seen, todo = set(), list(parents[start])
        while todo:
            gid = todo.pop()
            if gid == start:
                reasons.append(None)  # a cycle
                break
            if gid not in seen:
                seen.add(gid)
                todo.extend(parents.get(gid, []))
    if reasons:
        # Which of several problems the task names is open; a reason is expected only when there is one kind.
        raise Failed(reasons[0] if len(set(reasons)) == 1 else None, f"links: {reasons}")
    return cascaded


@dataclass
class BatchRow:
    item_type: str
    item_id: str
    context: str
    parent: str | None
    attrs: dict[str, Any] | None
    deleted: bool
    partial: bool
    ts: int


@dataclass
class Batch:
    created: int
    rows: dict[tuple[str, str, str], BatchRow] = field(default_factory=dict)

    def snapshot(self) -> int:
        """R3: the time of the batch's newest operation, or its creation time when it has none."""
        return max((row.ts for row in self.rows.values()), default=self.created)

    def apply(
        self, op: str, item_type: str, item_id: str, context: str, parent: str | None, attrs: Any, ts: int
    ) -> None:
        """The README's batch semantics: the newest operation on a (type, id, context) wins; a delete leaves a
        tombstone that a later modify does not revive; a modify of an item the batch lacks is kept as partial."""
        key = (item_type, item_id, context)
        row = self.rows.get(key)
        if op == "modify" and row is not None:
            if ts >= row.ts and not row.deleted:
                row.attrs = {**(row.attrs or {}), **(attrs or {})}
                row.parent = parent if parent is not None else row.parent
                row.ts = ts
            return
        if row is not None and ts < row.ts:
            return
        self.rows[key] = BatchRow(
            item_type,
            item_id,
            context,
            parent if op != "delete" else None,
            None if op == "delete" else dict(attrs or {}),
            op == "delete",
            op == "modify",
            ts,
        )


@dataclass
class Catalog:
    """One catalog: its versions (records by key), the active one, its batches, the logical clock."""

    fields: dict[str, dict[str, Any]]
    versions: dict[int, Version] = field(default_factory=lambda: {1: {}})
    active: int = 1
    batches: dict[str, Batch] = field(default_factory=dict)
    clock: int = NOW_BASE

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def live(self) -> Version:
        return self.versions[self.active]

    def check_properties(self, props: dict[str, Any], *, partial: bool) -> bool:
        """The catalog's fields (bulk API, ingestions): known names, fitting types, required ones present."""
        for name, value in props.items():
            spec = self.fields.get(name)
            if spec is None:
                return False
            if value is None:
                if spec.get("required"):
                    return False
                continue
            kind = spec["type"]
            if kind == "string" and not isinstance(value, str):
                return False
            if kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
                return False
            if kind == "list" and not isinstance(value, list):
                return False
        if not partial:
            return all(name in props for name, spec in self.fields.items() if spec.get("required"))
        return True
