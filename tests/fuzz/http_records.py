"""Strategies for the async items API (/v2/{collection}) and the task paths (/v1/tasks...)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.fuzz.conftest import LIMITS, Seed
from tests.fuzz.http_common import envelope_bodies, query, query_text
from tests.fuzz.oracle import HttpCase
from tests.fuzz.readback import parse_sent, read_records, same, show
from tests.fuzz.snapshot import Snapshot
from tests.fuzz.values import (
    breaks_id_rule,
    dumps,
    has_nul,
    hostile_text,
    int_params,
    json_objects,
    numbers,
    page_tokens,
    timestamps,
    wrong_types,
)

COLLECTIONS = ("items", "variations", "item_groups")
BAD_COLLECTIONS = ("itemz", "Items", "items%00", "%FF", "items.json", "x" * 300)
ON_MISSING = st.sampled_from(["FAIL", "IGNORE", "CREATE", "fail", "", "MAYBE", "3", "-1", "ON_MISSING_CREATE", "\x00"])
BOOLS = st.sampled_from(["true", "false", "True", "1", "yes", "", "2", "\x00"])


@st.composite
def record(draw: st.DrawFn, collection: str, n: int) -> tuple[dict[str, Any], list[str]]:
    """A record of the collection with 0-2 hostile fields; the names an error about it may use."""
    rec: dict[str, Any] = {"id": f"fz-{n}", "name": f"Fuzz {n}", "data": {"k": n}}
    if collection == "variations":
        rec["item_id"] = "i0"
    if collection == "item_groups":
        rec["parent_ids"] = ["g0"]
    names = []
    fields = ["id", "name", "suggested_score", "data", "context", "timestamp", "unknown"]
    fields += ["item_id"] if collection == "variations" else ["parent_ids"] if collection == "item_groups" else []
    for key in draw(st.lists(st.sampled_from(fields), max_size=2, unique=True)):
        names.append(key)
        if key in ("id", "name", "context", "item_id"):
            rec[key] = draw(st.one_of(hostile_text, wrong_types))
        elif key == "suggested_score":
            rec[key] = draw(st.one_of(numbers, wrong_types))
        elif key == "data":
            rec[key] = draw(st.one_of(json_objects, wrong_types))
        elif key == "timestamp":
            rec[key] = draw(st.one_of(timestamps, wrong_types))
        elif key == "parent_ids":
            rec[key] = draw(st.one_of(st.lists(hostile_text, max_size=3), wrong_types))
        else:
            rec[draw(st.sampled_from(["parentID", "group_ids", "item_id", "\x00", "id "]))] = draw(wrong_types)
            names[-1] = "unknown field"
    return rec, names


def _verify_write(method: str, section: str, collection: str, body: bytes, on_missing: str):
    async def verify(stack: Any, answer: Any, before: Snapshot, after: Snapshot) -> list[str]:
        try:
            sent = parse_sent(body)[collection]
        except (ValueError, KeyError, TypeError) as exc:
            return [f"accepted a body a JSON reader refuses ({exc})"]
        records = {(r["id"], r.get("context") or ""): r for r in sent}
        status, stored, text = await read_records(stack, section, collection, [r["id"] for r in sent])
        if status != 200:
            return [f"read back GET /v2/{collection} answered {status}: {text}"]
        problems = []
        for key, rec in records.items():
            got = stored.get(key)
            if method == "DELETE":
                if got is not None:
                    problems.append(f"{key} still stored after DELETE")
                continue
            if got is None:
                if method == "PUT" or on_missing == "CREATE":
                    problems.append(f"{show(key)} not stored")
                continue
            if "timestamp" in rec:
                continue  # an operation older than the record is ignored: either outcome is right
            expected = {
                "name": rec.get("name"),
                "suggested_score": rec.get("suggested_score"),
                "item_id": rec.get("item_id"),
                "parent_ids": rec.get("parent_ids", []),
            }
            for field, value in expected.items():
                if method == "PATCH" and field not in rec:
                    continue
                if field not in got and value is None:
                    continue
                if field in got or field in rec:
                    if not same(value, got.get(field)):
                        problems.append(f"{show(key)}.{field}: sent {show(value)}, read back {show(got.get(field))}")
            data = rec.get("data") or {}
            if method == "PUT" and not same(data, got["data"]):
                problems.append(f"{show(key)}.data: sent {show(data)}, read back {show(got['data'])}")
            if method == "PATCH":
                for k, v in data.items():
                    if v is None and k in got["data"]:
                        problems.append(f"{show(key)}.data.{k}: null did not remove it")
                    elif v is not None and not same(v, got["data"].get(k)):
                        problems.append(f"{show(key)}.data.{k}: sent {show(v)}, read back {show(got['data'].get(k))}")
        return problems

    return verify


def section_of(query: str) -> str:
    """The catalog a request names (the first `section`, the default when none or empty)."""
    from urllib.parse import parse_qs

    sections = parse_qs(query, keep_blank_values=True, errors="replace").get("section", [""])
    return sections[0] or "Products"


@st.composite
def records_write(draw: st.DrawFn, method: str) -> HttpCase:
    collection = draw(st.sampled_from(COLLECTIONS))
    label = f"{method} /v2/{{collection}}"
    hostile = {"section": query_text, "key": query_text, "force": BOOLS, "notification_email": query_text}
    if method == "PATCH":
        hostile["on_missing"] = ON_MISSING
    qs, qnames = draw(query({"key": "acme", "section": "Products"}, hostile))
    on_missing = "FAIL"
    if "on_missing=" in qs:
        on_missing = qs.split("on_missing=")[1].split("&")[0]
    count = draw(st.sampled_from([1, 1, 2, 3, LIMITS["max_records_per_call"], LIMITS["max_records_per_call"] + 1]))
    records, names = [], [collection, "body", *qnames]
    for n in range(count):
        rec, found = draw(record(collection, n))
        records.append(rec)
        names += [f"{collection}[{n}]", *found]
    body = dumps({collection: records})
    what = "hostile " + (",".join(sorted(set(names[2:]) - {f"{collection}[{n}]" for n in range(count)})) or "nothing")
    if count > LIMITS["max_records_per_call"]:
        what, names = "too many records", [*names, "records", "1000", str(LIMITS["max_records_per_call"])]
    path = f"/v2/{collection}"
    if draw(st.integers(0, 9)) == 0:
        path = f"/v2/{draw(st.sampled_from(BAD_COLLECTIONS))}"
        what, names = "unknown collection", ["collection", *names]
    elif draw(st.integers(0, 6)) == 0:
        what, body = draw(envelope_bodies({collection: records}, LIMITS["max_body_bytes"]))
        names += ["json", "limit", "utf-8", "bytes", collection]
    must_refuse = ""
    if method != "DELETE" and any(breaks_id_rule(r.get("id")) for r in records):
        must_refuse = "an id breaks the id rule (R1)"
    elif method != "DELETE" and has_nul(records):
        must_refuse = "a NUL (R5)"
    return HttpCase(
        must_refuse=must_refuse,
        label=label,
        what=what,
        method=method,
        path=path,
        query=qs,
        body=body,
        names=tuple(names),
        verify=_verify_write(method, section_of(qs), collection, body, on_missing)
        if path == f"/v2/{collection}"
        else None,
    )


@st.composite
def records_read(draw: st.DrawFn) -> HttpCase:
    collection = draw(st.sampled_from([*COLLECTIONS, *BAD_COLLECTIONS[:2]]))
    hostile = {
        "id": query_text,
        "num_results_per_page": int_params,
        "page": int_params,
        "page_token": page_tokens,
        "section": query_text,
        "key": query_text,
    }
    qs, names = draw(query({"key": "acme"}, hostile))
    what = "hostile " + (",".join(names) or "nothing")
    return HttpCase("GET /v2/{collection}", what, "GET", f"/v2/{collection}", qs, names=(*names, "collection"))


@st.composite
def task_get(draw: st.DrawFn, seed: Seed) -> HttpCase:
    prefix = draw(st.sampled_from(["/v1/tasks/", "/v1/task/"]))
    task_id = draw(
        st.one_of(
            st.just(str(seed.task_id)),
            int_params,
            st.sampled_from(["%00", "%FF", "1%2F2", "99999999999999999999999", "-9223372036854775809", "1;2"]),
        )
    )
    qs, names = draw(query({"key": "acme"}, {"key": query_text}))
    return HttpCase(
        f"GET {prefix}{{id}}",
        f"id {task_id[:12]!r} " + ",".join(names),
        "GET",
        prefix + task_id,
        qs,
        names=("id", "task", *names),
    )


@st.composite
def task_cancel(draw: st.DrawFn, seed: Seed) -> HttpCase:
    task_id = draw(st.one_of(st.just(str(seed.task_id)), int_params))
    qs, names = draw(query({"key": "acme"}, {"key": query_text}))
    return HttpCase(
        "POST /v1/tasks/{id}:cancel",
        "id " + task_id[:12],
        "POST",
        f"/v1/tasks/{task_id}:cancel",
        qs,
        names=("id", "task", "status", "started", "done", *names),
    )


@st.composite
def task_list(draw: st.DrawFn) -> HttpCase:
    hostile = {
        "status": st.one_of(st.sampled_from(["DONE", "done", "TASK_STATUS_DONE", "7", "-1", "SOMETIMES"]), query_text),
        "type": query_text,
        "section": query_text,
        "submitted_after": st.one_of(timestamps, query_text),
        "submitted_before": timestamps,
        "num_results_per_page": int_params,
        "page": int_params,
        "page_token": page_tokens,
        "key": query_text,
    }
    qs, names = draw(query({"key": "acme"}, hostile))
    return HttpCase("GET /v1/tasks", "hostile " + (",".join(names) or "nothing"), "GET", "/v1/tasks", qs, names=names)


@st.composite
def status_ingestion(draw: st.DrawFn) -> HttpCase:
    qs, names = draw(query({}, {"key": query_text}))
    return HttpCase(
        "GET /status/ingestion", "query " + ",".join(names), "GET", "/status/ingestion", qs, names=names, auth=False
    )
