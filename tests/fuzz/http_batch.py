"""Strategies for batch imports and catalog versions (/batch-imports..., /catalogs...)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.fuzz.conftest import LIMITS, Seed
from tests.fuzz.http_common import envelope_bodies, query, query_text
from tests.fuzz.oracle import HttpCase
from tests.fuzz.readback import batch_rows, parse_sent, same, show
from tests.fuzz.snapshot import Snapshot
from tests.fuzz.values import (
    breaks_id_rule,
    dumps,
    has_nul,
    hostile_text,
    int_params,
    json_objects,
    numbers,
    timestamps,
    wrong_types,
)

ITEM_PATHS = {
    "add": ("POST", "/batch-imports/items"),
    "modify": ("PATCH", "/batch-imports/items"),
    "delete": ("POST", "/batch-imports/items/delete"),
}
ITEM_KEYS = {"id", "type", "context", "timestamp", "parentId", "attributes"}
BOOLS = st.sampled_from(["true", "false", "True", "1", "", "2", "\x00"])


def scope_params(seed: Seed) -> dict[str, st.SearchStrategy[Any]]:
    return {
        "tenant": query_text,
        "environment": st.one_of(query_text, st.just("typo-env")),
    }


@st.composite
def batch_item(draw: st.DrawFn, n: int, operation: str) -> tuple[Any, list[str]]:
    item: dict[str, Any] = {"id": f"bi-{n}", "type": "product"}
    if operation != "delete":
        item["attributes"] = {"title": f"B{n}", "n": n}
    names: list[str] = []
    spots = ["id", "type", "context", "timestamp", "parentId", "attributes", "value", "unknown", "whole"]
    chosen = draw(st.lists(st.sampled_from(spots), max_size=2, unique=True))
    for spot in sorted(chosen, key=spots.index):
        if spot in ("id", "type", "context", "parentId"):
            item[spot] = draw(st.one_of(hostile_text, wrong_types))
        elif spot == "timestamp":
            item[spot] = draw(st.one_of(timestamps, wrong_types))
        elif spot == "attributes":
            item[spot] = draw(st.one_of(json_objects, wrong_types))
        elif spot == "value":
            attributes = item.get("attributes")
            item["attributes"] = {
                **(attributes if isinstance(attributes, dict) else {}),
                "v": draw(st.one_of(numbers, hostile_text)),
            }
            spot = "attributes"
        elif spot == "unknown":
            item[draw(st.sampled_from(["parentID", "attribute", "\x00"]))] = "x"
            spot = "unknown key"
        else:
            item = draw(wrong_types)
            spot = "item"
        names.append(spot)
    return item, names


def _verify_items(operation: str, seed: Seed, batch: str, body: bytes):
    async def verify(stack: Any, answer: Any, before: Snapshot, after: Snapshot) -> list[str] | None:
        sent = parse_sent(body)
        if not isinstance(answer, list) or len(answer) != len(sent):
            return [f"answered {show(answer)} for {len(sent)} items"]
        problems = [
            f"item {i} refused without a message"
            for i, r in enumerate(answer)
            if r.get("code") and not r.get("message")
        ]
        accepted = [item for item, r in zip(sent, answer, strict=True) if r.get("code") == 0]
        for item, r in zip(sent, answer, strict=True):
            unknown = sorted(set(item) - ITEM_KEYS) if isinstance(item, dict) else []
            said = str(r.get("message") or "") + " ".join(map(str, r.get("warnings") or []))
            if r.get("code") == 0 and unknown and unknown[0] not in said:
                problems.append(f"unknown key {unknown[0]!r} accepted without a warning naming it (R9): {show(r)}")
        for item in accepted:
            context = item.get("context") or ""
            stored = [item.get(k) for k in ("id", "type", "context", "parentId", "attributes")]
            if breaks_id_rule(item.get("id")) or (context and breaks_id_rule(context)) or has_nul(stored):
                problems.append(f"accepted item {show(item)[:80]} whose id or context breaks R1 or holds a NUL (R5)")
        if not accepted:
            return problems or None
        rows = await batch_rows(stack, seed.environment, batch)
        for item in accepted:
            row = rows.get((item.get("type"), item.get("id"), item.get("context") or ""))
            if row is None:
                problems.append(f"{show(item)[:80]} accepted but not in the batch")
                continue
            if operation == "delete":
                if not row["deleted"]:
                    problems.append(f"{show(item)[:80]} accepted for delete but not marked deleted")
                continue
            attributes = item.get("attributes") or {}
            stored = row["attributes"] or {}
            if operation == "add" and not same(attributes, stored):
                problems.append(f"{item.get('id')!r}: attributes sent {show(attributes)}, stored {show(stored)}")
            if operation == "modify":
                for k, v in attributes.items():
                    if v is not None and not same(v, stored.get(k)):
                        problems.append(f"{item.get('id')!r}.{k}: sent {show(v)}, stored {show(stored.get(k))}")
            if "parentId" in item and row["parent_id"] != item["parentId"]:
                problems.append(f"{item.get('id')!r}: parentId sent {item['parentId']!r}, stored {row['parent_id']!r}")
        return problems

    return verify


@st.composite
def batch_items(draw: st.DrawFn, seed: Seed, operation: str) -> HttpCase:
    method, path = ITEM_PATHS[operation]
    batch = draw(st.sampled_from([seed.batch_id, seed.batch_id, seed.version]))
    base = {"tenant": "acme", "environment": seed.environment, "batch_id": batch}
    qs, qnames = draw(query(base, {**scope_params(seed), "batch_id": st.one_of(query_text, st.just("nope"))}))
    names = list(qnames)
    count = draw(st.sampled_from([1, 1, 2, 3, 20]))
    items, inames = [], []
    for n in range(count):
        item, found = draw(batch_item(n, operation))
        items.append(item)
        inames += found
    body = dumps(items)
    what = "hostile " + (",".join(sorted(set(names + inames))) or "nothing")
    if draw(st.integers(0, 5)) == 0:
        what, body = draw(envelope_bodies(items, LIMITS["max_body_bytes"]))
        names += ["json", "array"]
    return HttpCase(
        f"{method} {path}",
        what,
        method,
        path,
        qs,
        body,
        names=("body", "batch", *names, *inames),
        verify=_verify_items(operation, seed, batch, body) if not qnames else None,
    )


@st.composite
def batch_create_or_list(draw: st.DrawFn, seed: Seed, method: str) -> HttpCase:
    qs, names = draw(query({"tenant": "acme", "environment": seed.environment}, scope_params(seed)))
    return HttpCase(
        f"{method} /batch-imports",
        "hostile " + (",".join(names) or "nothing"),
        method,
        "/batch-imports",
        qs,
        names=(*names, "environment", "tenant"),
    )


@st.composite
def ingestion_create(draw: st.DrawFn, seed: Seed) -> HttpCase:
    body: dict[str, Any] = {"batchImportId": seed.batch_id, "catalogVersion": seed.version}
    names = ["body"]
    hostile = {
        "batchImportId": st.one_of(hostile_text, wrong_types),
        "catalogVersion": st.one_of(hostile_text, numbers, wrong_types),
        "minItemCount": st.one_of(numbers, wrong_types),
        "minSuccessRatePercent": st.one_of(numbers, wrong_types),
        "source": st.one_of(hostile_text, wrong_types),
        "deleteMissingItems": wrong_types,
        "promoteCatalogOnCompletion": wrong_types,
        "unknownKey": wrong_types,
    }
    for key in draw(st.lists(st.sampled_from(sorted(hostile)), max_size=2, unique=True)):
        body[key] = draw(hostile[key])
        names.append(key)
    qs, qnames = draw(query({"tenant": "acme", "environment": seed.environment}, scope_params(seed)))
    raw = dumps(body)
    what = "hostile " + ",".join(sorted(names[1:] + list(qnames)))
    if draw(st.integers(0, 5)) == 0:
        what, raw = draw(envelope_bodies(body, LIMITS["max_body_bytes"]))
        names += ["json"]
    return HttpCase(
        "POST /batch-imports/ingestions",
        what,
        "POST",
        "/batch-imports/ingestions",
        qs,
        raw,
        names=(*names, *qnames, "batch", "version", "catalog"),
    )


@st.composite
def ingestion_read(draw: st.DrawFn, seed: Seed) -> HttpCase:
    method = draw(st.sampled_from(["GET", "GET", "GET", "DELETE"]))
    ingestion = draw(st.one_of(st.just(seed.ingestion_id), st.sampled_from(["nope", "%00", "%FF", "1", "x" * 300])))
    if method == "GET" and draw(st.booleans()):
        hostile = {
            "lookback_duration": int_params,
            "status": st.one_of(st.sampled_from(["SUCCESS", "success", "9"]), query_text),
            "environment": query_text,
            "tenant": query_text,
        }
        qs, names = draw(query({"tenant": "acme"}, hostile))
        return HttpCase(
            "GET /batch-imports/ingestions",
            "hostile " + ",".join(names),
            "GET",
            "/batch-imports/ingestions",
            qs,
            names=names,
        )
    qs, names = draw(query({"tenant": "acme", "environment": seed.environment}, scope_params(seed)))
    return HttpCase(
        f"{method} /batch-imports/ingestions/{{id}}",
        f"id {ingestion[:12]} " + ",".join(names),
        method,
        f"/batch-imports/ingestions/{ingestion}",
        qs,
        names=(*names, "ingestion", "id"),
    )


@st.composite
def versions(draw: st.DrawFn, seed: Seed) -> HttpCase:
    kind = draw(st.sampled_from(["create", "list", "active", "activate", "delete"]))
    base = {"tenant": "acme", "environment": seed.environment}
    hostile: dict[str, Any] = dict(scope_params(seed))
    version = draw(
        st.one_of(
            st.sampled_from(["1", seed.version, "999", "0", "-1"]),
            int_params,
            query_text.filter(lambda v: isinstance(v, str) and "/" not in v),
        )
    )
    from urllib.parse import quote

    quoted = quote(version.encode("utf-8", "surrogatepass"), safe="")
    method, path, label = {
        "create": ("POST", "/catalogs", "POST /catalogs"),
        "list": ("GET", "/catalogs", "GET /catalogs"),
        "active": ("GET", "/catalogs/active", "GET /catalogs/active"),
        "activate": ("POST", f"/catalogs/activate/{quoted}", "POST /catalogs/activate/{version}"),
        "delete": ("DELETE", f"/catalogs/{quoted}", "DELETE /catalogs/{version}"),
    }[kind]
    if kind == "create":
        hostile["createBatchImport"] = BOOLS
    if kind == "activate":
        hostile["minItemCount"] = int_params
    qs, names = draw(query(base, hostile))
    what = ("version " + version[:12] + " " if kind in ("activate", "delete") else "") + ",".join(names)
    return HttpCase(label, what, method, path, qs, names=(*names, "version", "active"))
