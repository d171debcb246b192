"""The state machine: random interleavings of every write path against one catalog, checked against the model.

Each example gets a fresh catalog on the test's stack. Rules run in Hypothesis's thread and drive the stack,
which lives on pytest's event loop, through `Harness.run`. A rule submits; `settle` (after every rule, or at
`resume` while the worker is stopped) applies the acknowledged tasks to the model in FIFO order, waits for the
service to finish them, and compares task outcomes and the catalog read back over REST and gRPC.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import os
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from catalogingest.v1 import task_pb2
from tests.model import client, reference
from tests.model.operations import (
    Ambiguous,
    BulkWrite,
    CsvFile,
    CsvUpload,
    Ingestion,
    Outcome,
    RecordsWrite,
    bulk_item_ok,
    records_problem,
)
from tests.model.reference import COLLECTIONS, GROUP, ITEM, VARIATION, Batch, Catalog, Failed, id_problem, json_ok

FIELDS = [
    {"name": "title", "type": "string"},
    {"name": "price", "type": "number"},
    {"name": "sku", "type": "string", "required": True},
    {"name": "tags", "type": "list"},
]
# Small alphabets so that records collide; ids valid by R1 that the batch document's pattern would refuse.
IDS = {ITEM: ["a", "b", "my item", "café-☕", "a?b#c"], VARIATION: ["v1", "v 2", "ü-3"], GROUP: ["ga", "gb", "gc"]}
BAD_IDS = [" a", "b ", "x/y", "t\tab", "nu\x00l", "z" * 257]
TEXTS = ["x", "Shoe", "Zoë ☕", "a,b", 'say "hi"', "two words", "line\nbreak"]
NUMBERS = [0, 1, -7, 1.5, 0.1, 0.30000000000000004, 2**63 - 1, -(2**63), 9.2e18, -9.2e18, 1e-300, 123456789.125]
BAD_NUMBERS = [2**63, 2**64, -(2**63) - 1, 1e20, 1e308, -1e19, 9.3e18, float(2**63)]
COLLIDING = ["url", "active", "group_ids", "facets", "description"]
BATCH_EPOCH_US = 1577836800 * 10**6  # 2020-01-01T00:00:00Z
TYPES = {ITEM: "product", VARIATION: "variant"}
_names = itertools.count(1)
# Rule names, spoilings ("nul", "csv metadata", ...) or "r1-ids" to leave out while exploring past a known
# discrepancy (MODEL_EXCLUDE=csv_write,nul python -m pytest tests/model): CI runs everything.
EXCLUDE = frozenset(filter(None, os.environ.get("MODEL_EXCLUDE", "").split(",")))
# Parts of rule labels ("IGNORE", "bulk partial-update upsert") whose steps are left out the same way.
EXCLUDE_LABELS = frozenset(filter(None, os.environ.get("MODEL_EXCLUDE_LABELS", "").split(",")))
SPOIL_ONE_IN = int(os.environ.get("MODEL_SPOIL_ONE_IN", "8"))  # how often a request is spoiled
reference.LEAVE_OUT_CASCADES = "cascade" in EXCLUDE
CONTEXT = "store 1"
if "r1-ids" in EXCLUDE:
    IDS = {ITEM: ["a", "b", "c1"], VARIATION: ["v1", "v2"], GROUP: IDS[GROUP]}
    CONTEXT = "store1"


@dataclass
class Stats:
    """What the runs did, for the figures line."""

    examples: int = 0
    steps: int = 0
    discrepancies: int = 0
    ambiguous: int = 0
    rules: Counter[str] | None = None


class Harness:
    """The stack on pytest's loop, reached from Hypothesis's thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, stack: Any, worker: client.WorkerControl) -> None:
        self.loop, self.stack, self.worker = loop, stack, worker
        self.stats = Stats(rules=Counter())

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)


class Discrepancy(AssertionError):
    pass


def rfc3339(us: int) -> str:
    seconds, micros = divmod(us - BATCH_EPOCH_US, 10**6)
    return f"2020-01-01T00:{seconds // 60:02d}:{seconds % 60:02d}.{micros:06d}Z"


class CatalogMachine(RuleBasedStateMachine):
    harness: Harness

    def __init__(self) -> None:
        super().__init__()
        self.h = type(self).harness
        self.stack = self.h.stack
        self.name = f"model{next(_names)}"
        self.h.run(self.h.worker.start())  # an example that failed while paused left it stopped
        self.h.run(client.define_catalog(self.stack, self.name, FIELDS))
        self.cat = Catalog(fields={f["name"]: f for f in FIELDS})
        self.pending: list[tuple[int, Any]] = []  # acknowledged tasks the model has not applied yet
        self.canceled: set[int] = set()
        self.paused = False
        self.ingestion_queued = False  # while paused: batch items after an ingestion would race it
        self.serial = 0
        self.history = [1]  # activated versions, newest last
        self.step = 0
        self.h.stats.examples += 1
        self.new_batch()  # batch rules are enabled from the first step

    # ---- helpers -------------------------------------------------------------------------------------------

    def left_out(self, label: str) -> bool:
        return any(part in label for part in EXCLUDE_LABELS)

    def fire(self, kind: str) -> None:
        self.step += 1
        self.h.stats.steps += 1
        assert self.h.stats.rules is not None
        self.h.stats.rules[kind] += 1

    def expect(self, ok: bool, what: str) -> None:
        if not ok:
            self.h.stats.discrepancies += 1
            raise Discrepancy(f"{self.name} step {self.step}: {what}")

    def predict(self, op: Any, without: int | None = None) -> bool:
        """Whether the rules decide the op's outcome after everything queued before it (minus `without`)."""
        trial = copy.deepcopy(self.cat)
        try:
            for task_id, queued in self.pending:
                if task_id not in self.canceled and task_id != without:
                    self._apply(trial, queued)
            if op is not None:
                self._apply(trial, op)
        except Ambiguous:
            self.h.stats.ambiguous += 1
            return False
        return True

    @staticmethod
    def _apply(cat: Catalog, op: Any) -> Outcome:
        try:
            return op.apply(cat)
        except Failed as failure:
            outcome = Outcome("FAILED", failure.reason, why=str(failure), columns=failure.columns)
            if isinstance(op, Ingestion):
                outcome.ingestion = {"status": "FAILURE"}
            return outcome

    def submitted(self, op: Any, task_id: int) -> None:
        self.pending.append((task_id, op))
        if not self.paused:
            self.settle()

    def after(self) -> None:
        if not self.paused:
            self.settle()

    def draw_ts(self, data: st.DataObject) -> int | None:
        """An explicit batch timestamp in 2020 (unique, in random order), or None for "now" when not paused."""
        if not self.paused and data.draw(st.integers(0, 3)) == 0:
            return None
        self.serial += 1
        return BATCH_EPOCH_US + data.draw(st.integers(0, 119)) * 10**6 + self.serial

    # ---- settle and compare --------------------------------------------------------------------------------

    def settle(self) -> None:
        if self.paused:
            self.h.run(self.h.worker.start())
            self.paused = False
            self.ingestion_queued = False
        pending, self.pending = self.pending, []
        expected: dict[int, tuple[Any, Outcome]] = {}
        for task_id, op in pending:
            if task_id in self.canceled:
                outcome = Outcome("CANCELED", ingestion={"status": "FAILURE"} if isinstance(op, Ingestion) else None)
            else:
                try:
                    outcome = self._apply(self.cat, op)
                except Ambiguous as why:  # predicted before sending: a model bug if it happens here
                    raise AssertionError(f"the model met an undecided case it had predicted away: {why}") from None
            expected[task_id] = (op, outcome)
        tasks = self.h.run(client.finished(self.stack, list(expected)))
        for task_id, (op, outcome) in expected.items():
            self.compare_task(tasks[task_id], op, outcome)
        self.compare_catalog()

    def compare_task(self, task: task_pb2.Task, op: Any, outcome: Outcome) -> None:
        what = f"task {task.id} ({task.type}, {type(op).__name__})"
        status = task_pb2.TaskStatus.Name(task.status).removeprefix("TASK_STATUS_")
        self.expect(
            status == outcome.status,
            f"{what} is {status}, the model says {outcome.status} {outcome.why}; error {task.error}",
        )
        if status == "FAILED" and outcome.reason:
            self.expect(task.error.reason == outcome.reason, f"{what} failed with {task.error}, not {outcome.reason}")
        if status == "FAILED" and outcome.columns:
            columns = outcome.columns
            self.expect(
                task.error.file.endswith(".csv") and task.error.row > 0 and task.error.column in columns,
                f"{what} names {task.error.file!r} row {task.error.row} column {task.error.column!r}, not {columns}",
            )
        if status == "DONE" and outcome.counts:
            for collection, fields in outcome.counts.items():
                got = getattr(task.result, collection)
                # Whether a write that reads back the same was "updated" or "unchanged" the rules do not define
                # (a NULL becoming [] underneath, say): their sum is what the model knows.
                if fields["updated"] is not None and fields["unchanged"] is not None:
                    fields = {**fields, "updated": None, "unchanged": None}
                    self.expect(
                        got.updated + got.unchanged
                        == outcome.counts[collection]["updated"] + outcome.counts[collection]["unchanged"],
                        f"{what}: {collection} updated+unchanged is {got.updated}+{got.unchanged}, the model says"
                        f" {outcome.counts[collection]}",
                    )
                for name, value in fields.items():
                    if value is not None:
                        self.expect(
                            getattr(got, name) == value,
                            f"{what}: {collection}.{name} is {getattr(got, name)}, the model says {value};"
                            f" result {task.result}",
                        )
        if status == "DONE" and outcome.skipped is not None:
            skipped = sorted(task.result.skipped_record_ids)
            self.expect(skipped == outcome.skipped, f"{what}: skipped {skipped}, the model says {outcome.skipped}")
        if isinstance(op, Ingestion) and outcome.ingestion:
            response = self.h.run(
                client.call(self.stack, "GET", f"/batch-imports/ingestions/{op.ingestion_id}", self.name)
            )
            self.expect(response.status_code == 200, f"ingestion {op.ingestion_id}: {response.text}")
            body = response.json()
            for key, value in outcome.ingestion.items():
                if value is not None:
                    self.expect(body.get(key) == value, f"ingestion {op} is {body}, the model says {key}={value}")

    def compare_catalog(self) -> None:
        got = self.h.run(client.read_back(self.stack, self.name))
        live = self.cat.live()
        for rec in live.values():
            read = got[f"rest {COLLECTIONS[rec.kind]}"]
            if rec.open_typed is not None and isinstance(read, dict) and (rec.id, rec.context) in read:
                shown = read[(rec.id, rec.context)]
                typed = (shown.get("name"), shown.get("suggested_score"))
                if typed in (rec.open_typed, (None, None)):
                    rec.name, rec.score = typed
                rec.open_typed = None
        for kind, collection in COLLECTIONS.items():
            model = {(r.id, r.context): r.view() for r in live.values() if r.kind == kind}
            for api in ("rest", "grpc"):
                read = got[f"{api} {collection}"]
                self.expect(read == model, f"{api} {collection} reads {read}; the model holds {model}")
            rest, grpc_ = got.get(f"rest {collection} versions"), got.get(f"grpc {collection} versions")
            if isinstance(rest, dict) and isinstance(grpc_, dict):
                self.expect(rest == grpc_, f"{collection} versions: REST {rest}, gRPC {grpc_}")
                self.expect(all(v >= 1 and t for v, t in rest.values()), f"{collection} versions: {rest}")
                # Every change of a record made it one version newer, and left one change in its history
                # (issue 15): since its last CREATE, version - 1 UPDATEs.
                history = got.get(f"rest {collection} history", {})
                for key, (version, _) in rest.items():
                    ops = history.get(key)
                    want = ["UPDATE"] * (version - 1) + ["CREATE"]
                    self.expect(ops == want, f"{collection} {key} at version {version}, newest changes {ops}")
        versions = [
            (str(n), "ACTIVE" if n == self.cat.active else "INACTIVE", len(records))
            for n, records in sorted(self.cat.versions.items())
        ]
        self.expect(got["versions"] == versions, f"versions are {got['versions']}; the model says {versions}")

    def teardown(self) -> None:
        if self.paused or self.pending:
            self.settle()

    # ---- generators ----------------------------------------------------------------------------------------

    def text(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(TEXTS))

    def csv_file(self, data: st.DataObject, kind: int, patch: bool) -> CsvFile:
        optional = {
            ITEM: ["item_name", "url", "group_ids", "active", "suggested_score", "metadata:brand", "facet:color"],
            VARIATION: ["item_name", "metadata:brand"],
            GROUP: ["name", "parent_ids", "data"],
        }[kind]
        if "group-links" in EXCLUDE:
            optional = [c for c in optional if c not in ("group_ids", "parent_ids")]
        header = [{ITEM: "id", VARIATION: "variation_id", GROUP: "id"}[kind]]
        if kind == VARIATION:
            header.append("item_id")
        header += data.draw(st.lists(st.sampled_from(optional), unique=True, max_size=len(optional)))
        ids = data.draw(st.lists(st.sampled_from(IDS[kind]), unique=True, max_size=4))
        rows = []
        for record_id in ids:
            row = []
            for column in header:
                blank = column not in ("id", "variation_id") and data.draw(st.integers(0, 3)) == 0
                if column == "item_id" and not patch:
                    blank = False
                row.append("" if blank else self.cell(data, column, record_id))
            rows.append(row)
        return CsvFile(kind, header, rows)

    def cell(self, data: st.DataObject, column: str, record_id: str) -> str:
        if column in ("id", "variation_id"):
            return record_id
        if column == "item_id":
            return data.draw(st.sampled_from(IDS[ITEM]))
        if column == "url":
            return "https://x.test/" + data.draw(st.sampled_from(["p", "q?r=1"]))
        if column == "group_ids":
            return "|".join(data.draw(st.lists(st.sampled_from(IDS[GROUP]), unique=True, min_size=1, max_size=2)))
        if column == "active":
            return data.draw(st.sampled_from(["true", "false"]))
        if column == "suggested_score":
            return data.draw(st.sampled_from(["4.5", "-1.0", "0.0", "1e-05", "123456.789"]))
        if column == "facet:color":
            return data.draw(st.sampled_from(["red", "red|blue"]))
        if column == "parent_ids":
            return json.dumps(data.draw(st.lists(st.sampled_from(IDS[GROUP]), unique=True, max_size=2)))
        if column == "data":
            return json.dumps({"rank": data.draw(st.sampled_from(NUMBERS))})
        return self.text(data)

    def hostile(self, data: st.DataObject, path: str, hows: list[str]) -> str | None:
        """Now and then one input the rules refuse: which kind of spoiling (None: a well-formed request)."""
        hows = [h for h in hows if f"{path} {h}" not in EXCLUDE and h not in EXCLUDE]
        if not hows or data.draw(st.integers(0, SPOIL_ONE_IN - 1)) > 0:
            return None
        return data.draw(st.sampled_from(hows), label="spoil")

    def properties(self, data: st.DataObject, *, partial: bool) -> dict[str, Any]:
        keys = data.draw(st.lists(st.sampled_from(["title", "price", "sku", "tags", "color"]), unique=True))
        if not partial and data.draw(st.integers(0, 3)) > 0 and "sku" not in keys:
            keys.append("sku")
        props: dict[str, Any] = {}
        for key in keys:
            if key == "price":
                props[key] = data.draw(st.sampled_from([*NUMBERS, "abc"]))
            elif key == "tags":
                props[key] = [self.text(data)]
            else:
                props[key] = self.text(data)
            if partial and key != "sku" and "null" not in EXCLUDE and data.draw(st.integers(0, 4)) == 0:
                props[key] = None  # R8: removes the property
        return props

    # ---- rules: CSV ----------------------------------------------------------------------------------------

    @rule(data=st.data())
    def csv_write(self, data: st.DataObject) -> None:
        if "csv_write" in EXCLUDE:
            return
        mode = data.draw(st.sampled_from(["sync", "delta", "patch"]), label="mode")
        kinds = data.draw(st.sets(st.sampled_from([ITEM, VARIATION, GROUP]), min_size=1), label="kinds")
        files = [self.csv_file(data, kind, mode == "patch") for kind in sorted(kinds)]
        how = self.hostile(data, "csv", ["id", "nul", "metadata", "number", "truncated", "typo"])
        if how in ("truncated", "typo"):
            return self.csv_refused(data, mode, files, how)
        if how:
            self.spoil_csv(data, files, how)
        force = mode == "sync" and data.draw(st.booleans(), label="force")
        op = CsvUpload(sync=mode == "sync", patch=mode == "patch", force=force, files=files)
        if not self.predict(op):
            return
        label = f"csv {mode}"
        if self.left_out(label):
            return
        self.fire(label)
        response = self.h.run(
            client.csv_upload(self.stack, self.name, files, sync=op.sync, patch=op.patch, force=force)
        )
        self.expect(response.status_code == 200, f"CSV upload answered {response.status_code} {response.text}")
        self.submitted(op, response.json()["task_id"])

    def csv_refused(self, data: st.DataObject, mode: str, files: list[CsvFile], how: str) -> None:
        """R10: a body cut before its closing boundary (or inside its last part); R9: an unknown query parameter
        (`forse`). Either is a 400, creates no task and changes nothing."""
        label = f"csv {how}"
        if self.left_out(label):
            return
        self.fire(label)
        boundary = "model-boundary-7e3f"
        body, closing = client.multipart(files, boundary)
        params = {"patch_delta": "true"} if mode == "patch" else {}
        if how == "truncated":
            body = body[: len(body) - data.draw(st.integers(0, min(40, len(body) - 1)), label="cut")]
        else:
            body += closing
            params["forse"] = "true"
        before = self.h.run(client.task_count(self.stack, self.name))
        response = self.h.run(client.raw_upload(self.stack, self.name, body, boundary, sync=mode == "sync", **params))
        self.expect(response.status_code == 400, f"CSV upload ({how}) answered {response.status_code} {response.text}")
        after = self.h.run(client.task_count(self.stack, self.name))
        self.expect(after == before, f"CSV upload ({how}) created a task")
        self.after()

    def spoil_csv(self, data: st.DataObject, files: list[CsvFile], how: str) -> None:
        """R1 (a bad id), R5 (NUL, a number that cannot read back), R6 (a colliding metadata column)."""
        file = data.draw(st.sampled_from(files))
        if how == "metadata" and file.kind != GROUP:
            file.header.append("metadata:" + data.draw(st.sampled_from(COLLIDING)))
            for row in file.rows:
                row.append("x")
        elif not file.rows:
            file.rows.append([data.draw(st.sampled_from(BAD_IDS))] + [""] * (len(file.header) - 1))
            if file.kind == VARIATION:
                file.rows[-1][1] = IDS[ITEM][0]
        else:
            row = data.draw(st.sampled_from(file.rows))
            if how == "number" and "data" in file.header:
                row[file.header.index("data")] = json.dumps({"rank": data.draw(st.sampled_from(BAD_NUMBERS))})
            elif how == "nul":
                row[data.draw(st.integers(0, len(row) - 1))] = "nu\x00l"
            else:
                row[0] = data.draw(st.sampled_from(BAD_IDS))

    # ---- rules: /v2 ----------------------------------------------------------------------------------------

    def json_record(self, data: st.DataObject, kind: int, record_id: str, verb: str) -> dict[str, Any]:
        record: dict[str, Any] = {"id": record_id}
        if kind == ITEM and data.draw(st.integers(0, 5)) == 0:
            record["context"] = CONTEXT
        if verb == "DELETE":
            return record
        if data.draw(st.booleans()):
            record["name"] = self.text(data)
        if kind != GROUP and data.draw(st.integers(0, 3)) == 0:
            record["suggested_score"] = data.draw(st.sampled_from([2.5, -1.0, 0.0]))
        if kind == VARIATION and (verb == "PUT" or data.draw(st.booleans())):
            record["item_id"] = data.draw(st.sampled_from(IDS[ITEM]))
        if kind == GROUP and "group-links" not in EXCLUDE and data.draw(st.booleans()):
            record["parent_ids"] = data.draw(st.lists(st.sampled_from(IDS[GROUP]), unique=True, max_size=2))
        body: dict[str, Any] = {}
        for key in data.draw(st.lists(st.sampled_from(["title", "price", "color", "group_ids"]), unique=True)):
            if key == "group_ids":
                if kind == ITEM and not record.get("context") and "group-links" not in EXCLUDE:
                    body[key] = data.draw(st.lists(st.sampled_from(IDS[GROUP]), unique=True, max_size=2))
            elif verb == "PATCH" and "null" not in EXCLUDE and data.draw(st.integers(0, 4)) == 0:
                body[key] = None
            else:
                body[key] = data.draw(st.sampled_from(NUMBERS)) if key == "price" else self.text(data)
        record["data"] = body
        return record

    @rule(data=st.data())
    def records_write(self, data: st.DataObject) -> None:
        if "records_write" in EXCLUDE:
            return
        verb = data.draw(st.sampled_from(["PUT", "PATCH", "DELETE"]), label="verb")
        kind = data.draw(st.sampled_from([ITEM, VARIATION, GROUP]), label="kind")
        ids = data.draw(st.lists(st.sampled_from(IDS[kind]), unique=True, min_size=1, max_size=3), label="ids")
        records = [self.json_record(data, kind, i, verb) for i in ids]
        on_missing = data.draw(st.sampled_from(["FAIL", "IGNORE", "CREATE"]), label="on_missing")
        # R1 names batch contexts; a /v2 record's context gets only valid values here.
        if how := self.hostile(data, "v2", ["id", "nul", "number"]):
            record = data.draw(st.sampled_from(records))
            if how == "id":
                record["id"] = data.draw(st.sampled_from(BAD_IDS))
            elif how == "context":
                record["context"] = data.draw(st.sampled_from(BAD_IDS))
            elif verb != "DELETE":
                record.setdefault("data", {})["price" if how == "number" else "title"] = (
                    data.draw(st.sampled_from(BAD_NUMBERS)) if how == "number" else "nu\x00l"
                )
        refused = records_problem(kind, records, verb)
        op = RecordsWrite(verb, kind, records, on_missing)
        if not refused and not self.predict(op):
            return
        label = f"v2 {verb} {COLLECTIONS[kind]}" + (f" {on_missing}" if verb == "PATCH" else "")
        if self.left_out(label):
            return
        self.fire(label)
        response = self.h.run(client.records_write(self.stack, self.name, verb, kind, records, on_missing))
        if refused:
            self.expect(response.status_code == 400, f"/v2 {verb} of {records} answered {response.status_code}")
            self.after()
            return
        self.expect(
            response.status_code == 200, f"/v2 {verb} {records} answered {response.status_code} {response.text}"
        )
        self.submitted(op, response.json()["task_id"])

    # ---- rules: bulk per-item API --------------------------------------------------------------------------

    @rule(data=st.data())
    def bulk_write(self, data: st.DataObject) -> None:
        if "bulk_write" in EXCLUDE:
            return
        partial = data.draw(st.booleans(), label="partial")
        upsert = partial and data.draw(st.booleans(), label="upsert")
        ids = data.draw(st.lists(st.sampled_from(IDS[ITEM]), unique=True, min_size=1, max_size=3), label="ids")
        items = [{"item_id": i, "properties": self.properties(data, partial=partial)} for i in ids]
        if how := self.hostile(data, "bulk", ["id", "nul", "number"]):
            item = data.draw(st.sampled_from(items))
            if how == "id":
                item["item_id"] = data.draw(st.sampled_from([i for i in BAD_IDS if "/" not in i]))
            else:
                item["properties"]["title" if how == "nul" else "price"] = (
                    "nu\x00l" if how == "nul" else data.draw(st.sampled_from(BAD_NUMBERS))
                )
        deferred = any(t not in self.canceled for t, _ in self.pending)  # R7: a write is still unfinished
        live = self.cat.live()
        accepted = []
        for item in items:
            ok = bulk_item_ok(self.cat, item, partial=partial)
            exists = (ITEM, item["item_id"], "") in live
            if ok and partial and not deferred and not exists:
                ok = upsert and self.cat.check_properties(item["properties"], partial=False)  # R7
            accepted.append(ok)
        op = BulkWrite(partial, upsert, [i for i, ok in zip(items, accepted, strict=True) if ok])
        if op.items and not self.predict(op):
            return
        label = "bulk " + ("partial-update" + (" upsert" if upsert else "") if partial else "replace")
        if self.left_out(label + (" deferred" if partial and deferred else "")):
            return
        self.fire(label)
        response = self.h.run(client.bulk_write(self.stack, self.name, items, partial=partial, upsert=upsert))
        self.expect(response.status_code == 200, f"bulk {items} answered {response.status_code} {response.text}")
        flags = [r.get("success") == "True" for r in response.json()]
        self.expect(flags == accepted, f"bulk {items}: per-item success {response.json()}, the model says {accepted}")
        task = response.headers.get("x-task-id")
        self.expect((task is not None) == bool(op.items), f"bulk {items}: X-Task-Id {task}")
        if task is not None:
            self.submitted(op, int(task))
        else:
            self.after()

    # ---- rules: batch imports ------------------------------------------------------------------------------

    @precondition(lambda self: self.cat.batches and not self.ingestion_queued)
    @rule(data=st.data())
    def batch_write(self, data: st.DataObject) -> None:
        if "batch_write" in EXCLUDE:
            return
        batch_id = data.draw(st.sampled_from(sorted(self.cat.batches)), label="batch")
        batch = self.cat.batches[batch_id]
        op = data.draw(st.sampled_from(["add", "modify", "delete"]), label="op")
        ts = self.draw_ts(data)
        keys = data.draw(
            st.lists(
                st.tuples(st.sampled_from([ITEM, VARIATION]), st.sampled_from([0, 1, 2, 3, 4])),
                unique_by=lambda k: k,
                min_size=1,
                max_size=4,
            ),
            label="keys",
        )
        items: list[dict[str, Any]] = []
        seen: set[tuple[str, str, str]] = set()
        for kind, n in keys:
            record_id = IDS[kind][n % len(IDS[kind])]
            item: dict[str, Any] = {"id": record_id, "type": TYPES[kind]}
            if kind == ITEM and data.draw(st.integers(0, 5)) == 0:
                item["context"] = CONTEXT
            if ts is not None:
                item["timestamp"] = rfc3339(ts)
            if kind == VARIATION and op != "delete" and (op == "add" or data.draw(st.booleans())):
                item["parentId"] = data.draw(st.sampled_from(IDS[ITEM]))
            if op != "delete":
                item["attributes"] = {k: v for k, v in self.properties(data, partial=op == "modify").items()}
                if op == "modify":
                    item["attributes"] = {k: v for k, v in item["attributes"].items() if v is not None}
            key = (item["type"], item["id"], item.get("context", ""))
            if key not in seen and self.batch_decided(batch, op, item, ts):
                seen.add(key)
                items.append(item)
        if not items:
            return
        if how := self.hostile(data, "batch", ["id", "context", "nul", "number", "parent", "typo"]):
            item = data.draw(st.sampled_from(items))
            if how == "typo":
                item["parentID"] = IDS[ITEM][0]  # R9: accepted, with a warning naming the key
            if how in ("id", "context"):
                item[how] = data.draw(st.sampled_from(BAD_IDS))
            elif how == "parent" and op != "delete":
                item["parentId"] = data.draw(st.sampled_from(BAD_IDS))
            elif how in ("nul", "number") and op != "delete":
                item["attributes"]["title" if how == "nul" else "price"] = (
                    "nu\x00l" if how == "nul" else data.draw(st.sampled_from(BAD_NUMBERS))
                )
        label = f"batch {op}"
        if self.left_out(label):
            return
        self.fire(label)
        response = self.h.run(client.batch_write(self.stack, self.name, op, batch_id, items))
        self.expect(response.status_code == 200, f"batch {op} {items} answered {response.status_code} {response.text}")
        now = self.cat.tick() if ts is None else ts
        codes = [r.get("code") for r in response.json()]
        expected = []
        for item in items:
            ok = id_problem(item["id"]) is None and (not item.get("context") or id_problem(item["context"]) is None)
            ok = ok and ("parentId" not in item or id_problem(item["parentId"]) is None)
            ok = ok and json_ok(item.get("attributes") or {})
            expected.append(ok)
            if ok:
                batch.apply(
                    op,
                    item["type"],
                    item["id"],
                    item.get("context", ""),
                    item.get("parentId"),
                    item.get("attributes"),
                    now,
                )
        self.expect(
            [c == 0 for c in codes] == expected,
            f"batch {op} {items}: codes {response.json()}, the model says {expected}",
        )
        for item, result in zip(items, response.json(), strict=True):
            if "parentID" in item:
                self.expect("parentID" in json.dumps(result), f"batch {op}: no warning names parentID in {result}")
        self.after()

    def batch_decided(self, batch: Batch, op: str, item: dict[str, Any], ts: int | None) -> bool:
        """Leave out what the rules leave open: a variant whose item the same batch deletes (or the reverse), a
        modify after a tombstone (is it the batch's newest operation?)."""
        rows = batch.rows
        row = rows.get((item["type"], item["id"], item.get("context", "")))
        if op == "modify" and row is not None and row.deleted:
            return False
        if item.get("parentId"):
            parent = rows.get(("product", item["parentId"], ""))
            if parent is not None and parent.deleted:
                return False
        if op == "delete" and item["type"] == "product":
            return not any(r.parent == item["id"] and not r.deleted for r in rows.values())
        return True

    @precondition(lambda self: bool(self.cat.batches))
    @rule(data=st.data())
    def ingest(self, data: st.DataObject) -> None:
        if "ingest" in EXCLUDE:
            return
        batch = data.draw(st.sampled_from(sorted(self.cat.batches)), label="batch")
        version = data.draw(st.sampled_from(sorted(self.cat.versions)), label="version")
        op = Ingestion(
            batch=batch,
            version=version,
            source=data.draw(st.sampled_from(["", "erp"]), label="source"),
            delete_missing=data.draw(st.booleans(), label="deleteMissingItems"),
            promote=data.draw(st.booleans(), label="promote"),
            min_items=data.draw(st.sampled_from([0, 0, 0, 2]), label="minItemCount"),
        )
        if not self.predict(op):
            return
        label = "ingestion" + (" deleteMissing" if op.delete_missing else "") + (" promote" if op.promote else "")
        if self.left_out(label):
            return
        self.fire(label)
        body = {
            "catalogVersion": str(version),
            "batchImportId": batch,
            "source": op.source,
            "deleteMissingItems": op.delete_missing,
            "promoteCatalogOnCompletion": op.promote,
            "minItemCount": op.min_items,
        }
        response = self.h.run(client.call(self.stack, "POST", "/batch-imports/ingestions", self.name, json=body))
        self.expect(response.status_code == 200, f"ingestion {body} answered {response.status_code} {response.text}")
        op.ingestion_id = response.json()["id"]
        if self.paused:
            self.ingestion_queued = True
        self.submitted(op, self.h.run(client.newest_task(self.stack, self.name)))

    # ---- rules: batches and versions ----------------------------------------------------------------------

    @precondition(lambda self: not self.paused)
    @rule(data=st.data())
    def batches_and_versions(self, data: st.DataObject) -> None:
        """A new batch, a new version (with its batch or not), activating a version, or a rollback: one rule, so
        that writes are most of the steps."""
        if "batches_and_versions" in EXCLUDE:
            return
        choices = ["new batch", "new version", "new version with batch", "unknown environment"]
        if len(self.cat.versions) > 1:
            choices.append("activate")
        if len(self.history) > 1:
            choices.append("rollback")
        label = data.draw(st.sampled_from(choices), label="what")
        if self.left_out(label):
            return
        self.fire(label)
        if label == "new batch":
            self.new_batch()
        elif label == "unknown environment":
            self.unknown_environment(data)
        elif label.startswith("new version"):
            params = {"createBatchImport": "true"} if label.endswith("batch") else {}
            response = self.h.run(client.call(self.stack, "POST", "/catalogs", self.name, params=params))
            self.expect(response.status_code == 200, f"POST /catalogs answered {response.status_code} {response.text}")
            number = max(self.cat.versions) + 1
            self.expect(response.json()["version"] == str(number), f"new version {response.json()}, not {number}")
            self.cat.versions[number] = {}
            if params:
                self.cat.batches[str(number)] = Batch(created=self.cat.tick())
        else:
            version = self.history[-2] if label == "rollback" else data.draw(st.sampled_from(sorted(self.cat.versions)))
            response = self.h.run(client.call(self.stack, "POST", f"/catalogs/activate/{version}", self.name))
            self.expect(response.status_code == 200, f"activate {version}: {response.status_code} {response.text}")
            self.cat.active = version
            self.history.append(version)
        self.after()

    def unknown_environment(self, data: st.DataObject) -> None:
        """R9: a typo in `environment` on a batch or version call is a 404 naming it, and creates no catalog."""
        typo = self.name + "x"
        method, path = data.draw(
            st.sampled_from(
                [
                    ("POST", "/batch-imports"),
                    ("GET", "/batch-imports"),
                    ("GET", "/catalogs"),
                    ("GET", "/catalogs/active"),
                    ("POST", "/catalogs/activate/1"),
                    ("POST", "/batch-imports/ingestions"),
                ]
            ),
            label="call",
        )
        body = {"json": {"catalogVersion": "1"}} if path.endswith("ingestions") else {}
        response = self.h.run(client.call(self.stack, method, path, typo, **body))
        self.expect(
            response.status_code == 404 and typo in response.text,
            f"{method} {path} in environment {typo!r} answered {response.status_code} {response.text}",
        )
        check = self.h.run(client.call(self.stack, "GET", "/catalogs/active", typo))
        self.expect(check.status_code == 404, f"{method} {path} created environment {typo!r}: {check.text}")

    def new_batch(self) -> None:
        response = self.h.run(client.call(self.stack, "POST", "/batch-imports", self.name))
        self.expect(response.status_code == 200, f"POST /batch-imports answered {response.status_code}")
        self.cat.batches[response.json()["id"]] = Batch(created=self.cat.tick())

    # ---- rules: the queue ----------------------------------------------------------------------------------

    @precondition(lambda self: not self.paused)
    @rule(data=st.data())
    def pause(self, data: st.DataObject) -> None:
        """Stop the worker: the next writes queue up, so FIFO, cancel and R7 are exercised. (A third of the
        times it is picked, so that most steps are writes.)"""
        if "pause" in EXCLUDE or data.draw(st.integers(0, 2), label="pause?") > 0:
            return
        label = "pause"
        if self.left_out(label):
            return
        self.fire(label)
        self.h.run(self.h.worker.stop())
        self.paused = True

    @precondition(lambda self: self.paused and any(t not in self.canceled for t, _ in self.pending))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        if "cancel" in EXCLUDE:
            return
        task_id = data.draw(st.sampled_from([t for t, _ in self.pending if t not in self.canceled]), label="task")
        if not self.predict(None, without=task_id):
            return
        label = "cancel"
        if self.left_out(label):
            return
        self.fire(label)
        self.h.run(client.cancel(self.stack, task_id))
        self.canceled.add(task_id)

    @precondition(lambda self: self.paused)
    @rule(data=st.data())
    def resume(self, data: st.DataObject) -> None:
        if not data.draw(st.booleans(), label="resume?"):
            return
        label = "resume"
        if self.left_out(label):
            return
        self.fire(label)
        self.settle()


def run_machine(harness: Harness, settings: Any) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    CatalogMachine.harness = harness
    run_state_machine_as_test(CatalogMachine, settings=settings)
