"""The writes of every API as the reference model applies them: each returns the task's expected Outcome.

An operation is built by the state machine from what it sent, predicted before it is sent (so that inputs
whose outcome the rules leave open are not sent: `Ambiguous`), and applied to the model when the service
applies its task, in FIFO order.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from tests.model.reference import (
    GROUP,
    ITEM,
    VARIATION,
    Ambiguous,
    Catalog,
    Counts,
    Failed,
    Key,
    Rec,
    Write,
    bump,
    check_links,
    empty_counts,
    id_problem,
    json_ok,
    merge_data,
    merge_record,
    replace_record,
)

BUILT_IN_KEYS = {
    "id", "item_name", "url", "image_url", "description", "keywords", "group_ids", "active", "suggested_score",
    "facets", "item_id", "variation_id", "name",
}  # fmt: skip
ID_COLUMN = {ITEM: "id", VARIATION: "variation_id", GROUP: "id"}


@dataclass
class Outcome:
    status: str  # DONE, FAILED, CANCELED
    reason: str | None = None
    counts: Counts | None = None
    skipped: list[str] | None = None
    ingestion: dict[str, Any] | None = None
    why: str = ""
    columns: list[str] | None = None


# ---- CSV (PUT / PATCH /v1/catalog) ---------------------------------------------------------------------------


@dataclass
class CsvFile:
    """One file as the machine rendered it: header and rows of cells ("" is a blank cell)."""

    kind: int
    header: list[str]
    rows: list[list[str]]


def _split(cell: str) -> list[str]:
    return [v.strip() for v in cell.split("|") if v.strip()]


def parse_csv(file: CsvFile, patch: bool) -> list[Write]:
    """The model's reading of a file (R1, R5, R6 included). A CSV error carries every column at fault
    (the service names one of them)."""
    kind = file.kind
    problems = [c for c in file.header if c.startswith("metadata:") and c.split(":", 1)[1] in BUILT_IN_KEYS]  # R6
    writes: list[Write] = []
    seen: set[str] = set()
    duplicate = False
    for cells in file.rows:
        row = dict(zip(file.header, cells, strict=True))
        problems += [column for column, cell in row.items() if "\x00" in cell]  # R5
        record_id = row[ID_COLUMN[kind]]
        if id_problem(record_id):
            problems.append(ID_COLUMN[kind])  # R1
        duplicate = duplicate or record_id in seen
        seen.add(record_id)
        fields: dict[str, Any] = {}
        data: dict[str, Any] = {}
        if kind == GROUP:
            if row.get("name"):
                fields["name"] = row["name"]
            # A cell holding NUL is the row's problem already (R5), and no JSON to read.
            if row.get("parent_ids") and "\x00" not in row["parent_ids"]:
                fields["parent_ids"] = json.loads(row["parent_ids"])
            if row.get("data") and "\x00" not in row["data"]:
                data = json.loads(row["data"])
                if not json_ok(data):
                    problems.append("data")  # R5
        else:
            if row.get("item_name"):
                fields["name"] = row["item_name"]
            if row.get("suggested_score"):
                fields["score"] = float(row["suggested_score"])
            if kind == VARIATION:
                if row.get("item_id"):
                    fields["item_id"] = row["item_id"]
                elif not patch:
                    problems.append("item_id")
            if row.get("url"):
                data["url"] = row["url"]
            if row.get("group_ids"):
                data["group_ids"] = _split(row["group_ids"])
            if row.get("active"):
                data["active"] = row["active"] == "true"
            if row.get("metadata:brand"):
                data["brand"] = row["metadata:brand"]
            if row.get("facet:color"):
                data["facets"] = {"color": [v.strip() for v in row["facet:color"].split("|")]}
        fields["data"] = data
        writes.append(Write((kind, record_id, ""), fields))
    if problems:  # R1, R5, R6: a CSV error naming file, row and column (its reason code the rules leave open)
        raise Failed(None, ",".join(problems), columns=problems)
    if duplicate:
        raise Failed("DUPLICATE_ID", ID_COLUMN[kind])
    return writes


@dataclass
class CsvUpload:
    sync: bool
    patch: bool
    force: bool
    files: list[CsvFile]

    def apply(self, cat: Catalog) -> Outcome:
        parsed: dict[int, list[Write]] = {}
        failures: list[Failed] = []
        for file in self.files:
            try:
                parsed[file.kind] = parse_csv(file, self.patch and not self.sync)
            except Failed as failure:
                failures.append(failure)
        if failures:
            reasons = {f.reason for f in failures}
            columns = [c for f in failures for c in (f.columns or [])]
            raise Failed(
                failures[0].reason if len(reasons) == 1 else None,
                ",".join(str(f) for f in failures),
                columns=columns if all(f.columns for f in failures) else None,
            )
        ts = cat.tick()
        before = cat.live()
        after = copy.deepcopy(before)
        counts = empty_counts()
        written: set[Key] = set()
        own_deletes: dict[int, int] = {}
        existing = {kind: sum(1 for k in before if k[0] == kind) for kind in parsed}
        if self.sync:
            for kind, writes in parsed.items():
                keep = {w.key for w in writes}
                gone = [k for k in after if k[0] == kind and k not in keep]
                for k in gone:
                    del after[k]
                own_deletes[kind] = len(gone)
                bump(counts, kind, "deleted", len(gone))
        for kind in sorted(parsed):
            for w in parsed[kind]:
                if self.patch and not self.sync:
                    merge_record(after, w, ts, counts, create=True)
                else:
                    replace_record(after, w, ts, counts)
                written.add(w.key)
        link_failure: Failed | None = None
        cascaded: list[Key] = []
        try:
            cascaded = check_links(before, after, written, counts)
        except Failed as failure:
            link_failure = failure
        if self.sync and not self.force:
            # The safety threshold per kind; whether a cascade counts towards it the rules leave open.
            for kind in parsed:
                mine = own_deletes[kind] * 2 > existing[kind]
                with_cascade = mine
                if kind == VARIATION and cascaded:
                    with_cascade = (own_deletes[kind] + len(cascaded)) * 2 > existing[kind]
                if mine != with_cascade:
                    raise Ambiguous("safety threshold with cascade")
                if mine:  # with a dangling link too, which one the task names is open
                    raise Failed(None if link_failure else "SAFETY_THRESHOLD", str(kind))
            if cascaded and VARIATION not in parsed:
                variations = sum(1 for k in before if k[0] == VARIATION)
                if len(cascaded) * 2 > variations:
                    raise Ambiguous("cascade over half of the variations")
        if link_failure is not None:
            raise link_failure
        cat.versions[cat.active] = after
        return Outcome("DONE", counts=counts)


# ---- /v2 records (PUT, PATCH, DELETE) ------------------------------------------------------------------------


def records_problem(kind: int, records: list[dict[str, Any]], verb: str) -> bool:
    """Whether the gateway must refuse the call as a 400 (R1, R5, the shape)."""
    for r in records:
        if id_problem(r["id"]) or (r.get("context") and id_problem(r["context"])):
            return True
        if verb == "DELETE":
            continue
        if not json_ok(r.get("data") or {}) or "\x00" in (r.get("name") or ""):
            return True
        if kind == VARIATION and verb == "PUT" and not r.get("item_id"):
            return True
    return False


def write_of(kind: int, r: dict[str, Any]) -> Write:
    fields: dict[str, Any] = {"data": r.get("data") or {}}
    if r.get("name") is not None:
        fields["name"] = r["name"]
    if r.get("suggested_score") is not None:
        fields["score"] = float(r["suggested_score"])
    if kind == VARIATION and r.get("item_id") is not None:
        fields["item_id"] = r["item_id"]
    if kind == GROUP and r.get("parent_ids"):  # an empty list is no list in the proto: not given
        fields["parent_ids"] = r["parent_ids"]
    return Write((kind, r["id"], r.get("context", "")), fields)


@dataclass
class RecordsWrite:
    verb: str  # PUT, PATCH, DELETE
    kind: int
    records: list[dict[str, Any]]
    on_missing: str = "FAIL"

    def apply(self, cat: Catalog) -> Outcome:
        ts = cat.tick()
        before = cat.live()
        after = copy.deepcopy(before)
        counts = empty_counts()
        writes = [write_of(self.kind, r) for r in self.records]
        skipped: list[str] = []
        if self.verb == "PUT":
            for w in writes:
                replace_record(after, w, ts, counts)
        elif self.verb == "PATCH":
            if self.on_missing == "FAIL":
                for w in writes:
                    if w.key not in before:
                        raise Failed("RECORD_NOT_FOUND", w.key[1])
            for w in writes:
                if not merge_record(after, w, ts, counts, create=self.on_missing == "CREATE"):
                    bump(counts, self.kind, "rejected")  # R8: skipped, not unchanged
                    skipped.append(w.key[1])
        else:
            for w in writes:
                if after.pop(w.key, None) is None:
                    bump(counts, self.kind, "unchanged")
                else:
                    bump(counts, self.kind, "deleted")
        written = {w.key for w in writes} if self.verb != "DELETE" else set()
        check_links(before, after, written, counts)
        cat.versions[cat.active] = after
        return Outcome("DONE", counts=counts, skipped=sorted(skipped) if self.verb == "PATCH" else None)


# ---- bulk per-item API ---------------------------------------------------------------------------------------


def bulk_item_ok(cat: Catalog, item: dict[str, Any], *, partial: bool) -> bool:
    props = item["properties"]
    return id_problem(item["item_id"]) is None and json_ok(props) and cat.check_properties(props, partial=partial)


@dataclass
class BulkWrite:
    partial: bool
    upsert: bool
    items: list[dict[str, Any]]  # the items the answer accepted, in request order

    def apply(self, cat: Catalog) -> Outcome:
        ts = cat.tick()
        before = cat.live()
        after = copy.deepcopy(before)
        counts = empty_counts()
        skipped: list[str] = []
        for item in self.items:
            w = Write((ITEM, item["item_id"], ""), {"data": item["properties"]})
            if not self.partial:
                replace_record(after, w, ts, counts)
            elif w.key not in after and self.upsert and not cat.check_properties(item["properties"], partial=False):
                raise Ambiguous("an upsert deferred to apply time that would create an item without required fields")
            elif not merge_record(after, w, ts, counts, create=self.upsert):
                bump(counts, ITEM, "rejected")  # R7: missing at apply time
                skipped.append(item["item_id"])
        check_links(before, after, {(ITEM, i["item_id"], "") for i in self.items}, counts)
        cat.versions[cat.active] = after
        return Outcome(
            "DONE", counts=counts, skipped=sorted(set(skipped)) if self.partial and not self.upsert else None
        )


# ---- batch ingestions ----------------------------------------------------------------------------------------


def kind_of_type(item_type: str) -> int:
    return VARIATION if item_type == "variant" else ITEM


@dataclass
class Ingestion:
    batch: str
    version: int
    source: str
    delete_missing: bool
    promote: bool
    min_items: int
    ingestion_id: str = ""
    task_id: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def apply(self, cat: Catalog) -> Outcome:
        batch = cat.batches[self.batch]
        version = cat.versions[self.version]
        live = [r for r in batch.rows.values() if not r.deleted]
        errors: set[tuple[str, str, str]] = set()
        for r in live:
            if not cat.check_properties(r.attrs or {}, partial=r.partial):
                errors.add((r.item_type, r.item_id, r.context))
        for r in live:
            k = (r.item_type, r.item_id, r.context)
            if r.partial and k not in errors and (kind_of_type(r.item_type), r.item_id, r.context) not in version:
                errors.add(k)
        products = {
            (r.item_id, r.context)
            for r in live
            if not r.partial and r.parent is None and (r.item_type, r.item_id, r.context) not in errors
        }
        for r in live:
            k = (r.item_type, r.item_id, r.context)
            if r.parent is not None and k not in errors:
                if (r.parent, r.context) not in products and (ITEM, r.parent, r.context) not in version:
                    errors.add(k)
        valid = len(live) - len(errors)
        if valid < self.min_items:
            return Outcome("FAILED", "THRESHOLD_NOT_MET", ingestion={"status": "FAILURE"})
        after = copy.deepcopy(version)
        written: set[Key] = set()
        upserted = deleted = 0
        for r in live:
            if (r.item_type, r.item_id, r.context) in errors:
                continue
            key = (kind_of_type(r.item_type), r.item_id, r.context)
            old = after.get(key)
            if r.partial:
                assert old is not None
                if old.ts <= r.ts:
                    new = copy.deepcopy(old)
                    new.data = merge_data(old.data, r.attrs or {})
                    new.item_id = r.parent if r.parent is not None else old.item_id
                    new.ts = r.ts  # a modify keeps the record's source (R4)
                    after[key] = new
                    upserted += 1
                    written.add(key)
            elif old is None or old.ts <= r.ts:
                after[key] = Rec(*key, item_id=r.parent, data=dict(r.attrs or {}), source=self.source, ts=r.ts)
                if old is not None and (old.name, old.score) != (None, None):
                    after[key].open_typed = (old.name, old.score)
                upserted += 1
                written.add(key)
        for r in batch.rows.values():
            key = (kind_of_type(r.item_type), r.item_id, r.context)
            if r.deleted and key in after and after[key].ts <= r.ts:
                del after[key]
                deleted += 1
        if self.delete_missing:
            held = {(r.item_id, r.context) for r in live}
            snapshot = batch.snapshot()
            for key, rec in list(after.items()):
                if key[0] in (ITEM, VARIATION) and rec.source == self.source and key[1:] not in held:
                    if rec.ts < snapshot:  # R3: never a record newer than the batch
                        del after[key]
                        deleted += 1
        try:
            cascaded = check_links(version, after, written, None)
        except Failed:
            raise Ambiguous("a variation the batch writes loses its item in the same ingestion") from None
        cat.versions[self.version] = after
        if self.promote:
            cat.active = self.version
        expected = {
            "status": "SUCCESS",
            "upsertedItemCount": upserted,
            "deletedItemCount": None if cascaded else deleted,
            "itemErrorCount": len(errors),
        }
        return Outcome("DONE", ingestion=expected)
