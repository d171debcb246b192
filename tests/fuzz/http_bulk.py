"""Strategies for the bulk per-item API and catalog definitions (/data/v2/projects/{project_id}/catalogs...)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.fuzz.conftest import LIMITS, TYPED_FIELDS
from tests.fuzz.http_common import envelope_bodies, query, query_text
from tests.fuzz.oracle import HttpCase
from tests.fuzz.readback import parse_sent, read_records, same, show
from tests.fuzz.snapshot import Snapshot
from tests.fuzz.values import (
    DEPTHS,
    breaks_id_rule,
    dumps,
    has_nul,
    hostile_text,
    json_values,
    nested,
    numbers,
    page_tokens,
    wrong_types,
)

PROJECT = "/data/v2/projects/acme/catalogs"
FIELD_TYPES = [f["type"] for f in TYPED_FIELDS]
VALID = {
    "title": "T",
    "body": "B",
    "price": 1.5,
    "in_stock": True,
    "released": 1700000000,
    "updated": 1700000000,
    "tags": ["a"],
    "link": "https://example.com/x",
    "extra": {"a": [1]},
}


@st.composite
def bulk_item(draw: st.DrawFn, n: int) -> tuple[Any, list[str]]:
    props = {k: VALID[k] for k in draw(st.lists(st.sampled_from(sorted(VALID)), max_size=3, unique=True))}
    item: dict[str, Any] = {"item_id": f"bk-{n}", "properties": props}
    names: list[str] = []
    spots = draw(st.lists(st.sampled_from(["item_id", "value", "key", "properties", "item", "deep"]), max_size=2))
    for spot in sorted(spots, key=["item_id", "value", "key", "deep", "properties", "item"].index):
        if spot == "item_id":
            item["item_id"] = draw(st.one_of(hostile_text, wrong_types))
            names.append("item_id")
        elif spot == "value":
            field = draw(st.sampled_from(sorted(VALID)))
            props[field] = draw(st.one_of(numbers, hostile_text, wrong_types, json_values))
            names += ["properties", field]
        elif spot == "key":
            props[draw(hostile_text)] = "v"
            names += ["properties", "defined"]
        elif spot == "deep":
            props["extra"] = nested(draw(st.sampled_from(DEPTHS)), 1, draw(st.sampled_from(["a", None])))
            names += ["properties", "extra", "nest", "deep"]
        elif spot == "properties":
            item["properties"] = draw(st.one_of(wrong_types, json_values))
            names.append("properties")
        else:
            item = draw(st.sampled_from([{**item, "itemId": "x"}, {**item, "\x00": 1}, [item], "item", None]))
            names += ["item", "unknown", "keys"]
            break
    return item, names


def _verify_bulk(partial: bool, body: bytes):
    async def verify(stack: Any, answer: Any, before: Snapshot, after: Snapshot) -> list[str] | None:
        sent = parse_sent(body)
        if not isinstance(answer, list) or len(answer) != len(sent):
            return [f"answered {show(answer)} for {len(sent)} items"]
        problems = []
        for i, result in enumerate(answer):
            if result.get("success") == "False" and not result.get("errors"):
                problems.append(f"item {i} failed without naming why")
        for item, r in zip(sent, answer, strict=True):
            if r.get("success") == "True" and (breaks_id_rule(item.get("item_id")) or has_nul(item)):
                problems.append(f"accepted item {show(item)[:80]} whose id breaks R1 or that holds a NUL (R5)")
        accepted = {
            item["item_id"]: item["properties"] for item, r in zip(sent, answer, strict=True) if r["success"] == "True"
        }
        if not accepted:
            return problems or None
        status, stored, text = await read_records(stack, "typed", "items", list(accepted))
        if status != 200:
            return [*problems, f"read back GET /v2/items answered {status}: {text}"]
        for item_id, props in accepted.items():
            got = stored.get((item_id, ""))
            if got is None:
                problems.append(f"{show(item_id)} not stored")
                continue
            data = got["data"]
            for key, value in props.items():
                if value is None and partial:
                    if data.get(key) is not None:
                        problems.append(f"{show(item_id)}.{key}: null did not clear it")
                elif not same(value, data.get(key)):
                    problems.append(f"{show(item_id)}.{key}: sent {show(value)}, read back {show(data.get(key))}")
            if not partial:
                extra = {k: v for k, v in data.items() if k not in props and v not in (None, "", [])}
                if extra:
                    problems.append(f"{show(item_id)}: kept properties it was not sent {show(extra)}")
        return problems

    return verify


@st.composite
def bulk_write(draw: st.DrawFn, partial: bool) -> HttpCase:
    label = "POST .../items/partial-update" if partial else "PUT .../items"
    path = f"{PROJECT}/typed/items" + ("/partial-update" if partial else "")
    count = draw(st.sampled_from([1, 1, 2, 3, LIMITS["bulk_max_items"], LIMITS["bulk_max_items"] + 1]))
    items, names = [], ["body", "item", "items"]
    for n in range(count):
        item, found = draw(bulk_item(n))
        items.append(item)
        names += found
    qs, qnames = draw(query({"upsert": "true"} if partial and draw(st.booleans()) else {}, {"upsert": query_text}))
    names += qnames
    what = "hostile " + (",".join(sorted(set(names[3:]))) or "nothing")
    body = dumps(items)
    if count > LIMITS["bulk_max_items"]:
        what = "too many items"
    if draw(st.integers(0, 9)) == 0:
        path = path.replace("/typed/", "/" + draw(st.sampled_from(["nope", "%00", "%FF", "a%2Fb", "x" * 300])) + "/")
        what, names = "unknown catalog", [*names, "catalog"]
    elif draw(st.integers(0, 9)) == 0:
        path = path.replace("/acme/", "/" + draw(st.sampled_from(["globex", "%00", "nope"])) + "/")
        what, names = "other project", [*names, "project"]
    elif draw(st.integers(0, 5)) == 0:
        what, body = draw(envelope_bodies(items, LIMITS["bulk_max_body_bytes"]))
        names += ["json", "payload", "list", "array"]
    return HttpCase(
        label,
        what,
        "PUT" if not partial else "POST",
        path,
        qs,
        body,
        names=tuple(names),
        verify=_verify_bulk(partial, body) if "/typed/" in path and "/acme/" in path else None,
    )


@st.composite
def field_defs(draw: st.DrawFn) -> tuple[Any, list[str]]:
    fields: list[Any] = [
        {"name": f"f{n}", "type": draw(st.sampled_from(FIELD_TYPES)), "searchable": False}
        for n in range(draw(st.integers(0, 3)))
    ]
    names = ["fields"]
    if draw(st.booleans()):
        bad = {"name": "bad", "type": "string", "searchable": False}
        spot = draw(st.sampled_from(["name", "type", "searchable", "required", "unknown", "whole"]))
        if spot in ("name", "type"):
            bad[spot] = draw(st.one_of(hostile_text, wrong_types, st.sampled_from(["integer", "STRING", "list "])))
        elif spot in ("searchable", "required"):
            bad[spot] = draw(wrong_types)
        elif spot == "unknown":
            bad["typ"] = "string"
        fields.append(bad if spot != "whole" else draw(wrong_types))
        names += ["fields[", "name", "type", "field", spot]
    if draw(st.integers(0, 9)) == 0:
        fields += [
            {"name": "dup", "type": "string", "searchable": False},
            {"name": "dup", "type": "number", "searchable": False},
        ]
        names += ["dup"]
    return fields, names


def _verify_definition(body: bytes, name_of: str | None):
    async def verify(stack: Any, answer: Any, before: Snapshot, after: Snapshot) -> list[str]:
        sent = parse_sent(body)
        name = name_of or sent["name"]
        from urllib.parse import quote

        response = await stack.http.get(f"{PROJECT}/{quote(name, safe='')}", headers=stack.auth())
        if response.status_code != 200:
            return [f"read back {name!r} answered {response.status_code} {response.text[:120]}"]
        stored = {f["name"]: f for f in response.json().get("fields", [])}
        problems = []
        for field in sent.get("fields", []):
            got = stored.get(field["name"])
            if got is None or got.get("type") != field["type"]:
                problems.append(f"field {show(field)} read back as {show(got)}")
        return problems

    return verify


@st.composite
def definition_create(draw: st.DrawFn) -> HttpCase:
    n = draw(st.integers(0, 10**6))
    name: Any = f"def-{n}"
    names = ["name", "body", "catalog"]
    if draw(st.booleans()):
        name = draw(st.one_of(hostile_text, wrong_types, st.just("typed"), st.just("x" * 201)))
    fields, fnames = draw(field_defs())
    body_value: Any = {"name": name, "fields": fields}
    if draw(st.integers(0, 7)) == 0:
        body_value["id"] = "x"
        names.append("id")
    body = dumps(body_value)
    what = f"name {show(name)[:20]} fields " + ",".join(sorted(set(fnames)))
    if draw(st.integers(0, 5)) == 0:
        what, body = draw(envelope_bodies(body_value, LIMITS["max_body_bytes"]))
        names += ["json"]
    return HttpCase(
        "POST /data/v2/projects/{project_id}/catalogs",
        what,
        "POST",
        PROJECT,
        "",
        body,
        names=(*names, *fnames, "exists", "project"),
        verify=_verify_definition(body, None),
    )


@st.composite
def definition_add_fields(draw: st.DrawFn) -> HttpCase:
    fields, names = draw(field_defs())
    catalog = draw(st.sampled_from(["typed", "typed", "nope", "%00", "%FF"]))
    body_value: Any = {"fields": fields}
    body = dumps(body_value)
    what = f"catalog {catalog} " + ",".join(sorted(set(names)))
    if draw(st.integers(0, 5)) == 0:
        what, body = draw(envelope_bodies(body_value, LIMITS["max_body_bytes"]))
        names += ["json", "body"]
    return HttpCase(
        "PATCH /data/v2/projects/{project_id}/catalogs/{catalog_id}",
        what,
        "PATCH",
        f"{PROJECT}/{catalog}",
        "",
        body,
        names=(*names, "catalog", "type", "body"),
        verify=_verify_definition(body, "typed") if catalog == "typed" else None,
    )


@st.composite
def definition_read(draw: st.DrawFn) -> HttpCase:
    one = draw(st.booleans())
    if one:
        catalog = draw(st.sampled_from(["typed", "Products", "nope", "%00", "%FF", "a%2Fb", "x" * 300]))
        return HttpCase(
            "GET /data/v2/projects/{project_id}/catalogs/{catalog_id}",
            f"catalog {catalog[:12]}",
            "GET",
            f"{PROJECT}/{catalog}",
            names=("catalog",),
        )
    qs, names = draw(
        query(
            {}, {"page_size": st.one_of(st.sampled_from(["-1", "0", "1001", "2147483648"])), "page_token": page_tokens}
        )
    )
    return HttpCase(
        "GET /data/v2/projects/{project_id}/catalogs", "hostile " + ",".join(names), "GET", PROJECT, qs, names=names
    )
