"""Reading back what an accepted gRPC write stored, compared with what was sent."""

from __future__ import annotations

import json
from typing import Any

from catalogingest.v1 import catalog_pb2, task_pb2
from tests.fuzz.readback import same, show
from tests.fuzz.snapshot import Snapshot
from tests.fuzz.values import breaks_id_rule


async def _applied_records(stack: Any, answer: Any, request: Any) -> list[Any]:
    """The records a write applies: all of them, or under on_invalid=SKIP those its task did not report."""
    records = list(request.records)
    if getattr(request, "on_invalid", 0) != catalog_pb2.ON_INVALID_SKIP or not getattr(answer, "task_id", 0):
        return records
    page = await stack.tasks.ListTaskErrors(
        task_pb2.ListTaskErrorsRequest(id=answer.task_id, page_size=1000), metadata=stack.metadata()
    )
    refused = {error.column.split(".")[0] for error in page.errors}
    return [record for i, record in enumerate(records) if f"records[{i}]" not in refused]


def verify_records(mode: str, request: Any) -> Any:
    async def verify(stack: Any, answer: Any, before: Snapshot, after: Snapshot) -> list[str]:
        if getattr(request, "validate_only", False):
            # A dry run applies nothing: the catalog reads back as before (its records may predate this case).
            changed = before.diff(after, new_catalogs=True)
            return [f"a dry run changed the catalog: {changed}"] if changed else []
        problems = []
        records = await _applied_records(stack, answer, request)
        if mode != "DELETE":
            for r in records:
                if breaks_id_rule(r.id) or "\\u0000" in r.data_json or "\x00" in r.name + r.context + r.item_id:
                    problems.append(f"accepted record {r.id!r} whose id breaks R1 or that holds a NUL (R5)")
        kinds = {r.kind for r in records}
        for context in {r.context for r in records}:
            got = await stack.catalog.BatchGetRecords(
                catalog_pb2.BatchGetRecordsRequest(
                    section=request.section or "Products",
                    collection=request.collection,
                    ids=[r.id for r in records if r.context == context],
                    context=context,
                ),
                metadata=stack.metadata(),
            )
            stored = {r.id: r for r in got.records}
            last = {(r.id, r.context): r for r in records}  # an id sent twice: the last one stays
            for sent in last.values():
                if sent.context != context or sent.kind not in kinds:
                    continue
                found = stored.get(sent.id)
                if mode == "DELETE":
                    if found is not None:
                        problems.append(f"{sent.id!r} still stored after delete")
                    continue
                if found is None:
                    if mode == "REPLACE":
                        problems.append(f"{sent.id!r} not stored")
                    continue
                if sent.HasField("timestamp"):
                    continue
                if mode == "REPLACE" or sent.HasField("name"):
                    if found.HasField("name") != sent.HasField("name") or found.name != sent.name:
                        problems.append(f"{sent.id!r}.name: sent {sent.name!r}, read back {found.name!r}")
                if (mode == "REPLACE" or sent.HasField("suggested_score")) and not same(
                    sent.suggested_score if sent.HasField("suggested_score") else None,
                    found.suggested_score if found.HasField("suggested_score") else None,
                ):
                    problems.append(
                        f"{sent.id!r}.suggested_score: sent {sent.suggested_score}, got {found.suggested_score}"
                    )
                sent_data = json.loads(sent.data_json) if sent.data_json else {}
                got_data = json.loads(found.data_json) if found.data_json else {}
                if mode == "REPLACE" and not same(sent_data, got_data):
                    problems.append(f"{sent.id!r}.data: sent {show(sent_data)}, read back {show(got_data)}")
                if mode == "UPDATE":
                    for k, v in sent_data.items():
                        if v is not None and not same(v, got_data.get(k)):
                            problems.append(f"{sent.id!r}.data.{k}: sent {show(v)}, read back {show(got_data.get(k))}")
        return problems

    return verify


def verify_bulk(partial: bool, request: Any) -> Any:
    async def verify(stack: Any, answer: Any, before: Snapshot, after: Snapshot) -> list[str] | None:
        if request.validate_only:
            changed = before.diff(after, new_catalogs=True)
            return [f"a dry run changed the catalog: {changed}"] if changed else []
        accepted = [item for item, r in zip(request.items, answer.results, strict=True) if r.success]
        # An id sent twice: the last one is what stays.
        accepted = list({item.item_id: item for item in accepted}.values())
        for item in accepted:
            if breaks_id_rule(item.item_id) or "\\u0000" in item.properties_json:
                return [f"accepted item {item.item_id!r} whose id breaks R1 or that holds a NUL (R5)"]
        problems = [
            f"item {i} failed without errors" for i, r in enumerate(answer.results) if not r.success and not r.errors
        ]
        if len(answer.results) != len(request.items):
            return [f"{len(answer.results)} results for {len(request.items)} items"]
        if not accepted:
            return problems or None
        got = await stack.catalog.BatchGetRecords(
            catalog_pb2.BatchGetRecordsRequest(
                section=request.catalog_id, collection="items", ids=[i.item_id for i in accepted]
            ),
            metadata=stack.metadata(),
        )
        stored = {r.id: json.loads(r.data_json or "{}") for r in got.records}
        for item in accepted:
            if item.item_id not in stored:
                problems.append(f"{item.item_id!r} not stored")
                continue
            for k, v in json.loads(item.properties_json).items():
                if not (v is None and partial) and not same(v, stored[item.item_id].get(k)):
                    problems.append(
                        f"{item.item_id!r}.{k}: sent {show(v)}, read back {show(stored[item.item_id].get(k))}"
                    )
        return problems

    return verify
