"""The async items API over HTTP: PUT, PATCH and DELETE on /v2/items, /v2/variations, /v2/item_groups."""

from __future__ import annotations

import asyncio
import random

import pytest

from tests.helpers import eventually


async def done(stack, response) -> dict:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {"task_id": body["task_id"], "task_status_path": f"/v1/task/{body['task_id']}"}
    assert isinstance(body["task_id"], int)

    async def probe() -> dict:
        return (await stack.http.get(body["task_status_path"], headers=stack.auth())).json()

    return await eventually(probe, lambda task: task["status"] in ("DONE", "FAILED"))


async def read(stack, collection: str, **params) -> dict[str, dict]:
    response = await stack.http.get(f"/v2/{collection}", params=params, headers=stack.auth())
    assert response.status_code == 200, response.text
    # The records' content: their version and update_time are tests/test_record_versions.py's.
    records = response.json()[collection]
    assert all(r.pop("version") >= 1 and r.pop("update_time") for r in records)
    return {record["id"]: record for record in records}


async def test_each_verb_on_each_kind(http_stack) -> None:
    s, auth = http_stack, http_stack.auth()
    groups = {"item_groups": [{"id": "g1", "name": "Shoes", "parent_ids": [], "data": {"rank": 1}},
                              {"id": "g2", "name": "Sale", "parent_ids": ["g1"]}]}  # fmt: skip
    shoe = {"id": "shoe", "name": "Shoe", "suggested_score": 3, "data": {"url": "https://x/s", "group_ids": ["g1"]}}
    items = {"items": [shoe, {"id": "hat", "name": "Hat", "data": {"active": False}}]}
    variations = {"variations": [{"id": "shoe-42", "item_id": "shoe", "name": "Shoe 42", "data": {"size": 42}}]}
    for collection, body in (("item_groups", groups), ("items", items), ("variations", variations)):
        task = await done(s, await s.http.put(f"/v2/{collection}", params={"key": "acme"}, json=body, headers=auth))
        assert task["status"] == "DONE" and task["result"][collection]["created"] == len(body[collection]), task
    assert (await read(s, "items"))["shoe"] == items["items"][0] | {"suggested_score": 3.0}
    assert (await read(s, "variations"))["shoe-42"] == variations["variations"][0]
    assert (await read(s, "item_groups"))["g2"] == {"id": "g2", "name": "Sale", "parent_ids": ["g1"], "data": {}}

    patch = {"items": [{"id": "shoe", "data": {"price": 10}}, {"id": "hat", "name": "Cap"}]}
    task = await done(s, await s.http.patch("/v2/items", json=patch, headers=auth))
    assert task["result"]["items"]["updated"] == 2
    items_now = await read(s, "items")
    assert items_now["shoe"]["data"] == {"url": "https://x/s", "group_ids": ["g1"], "price": 10}
    assert items_now["hat"] == {"id": "hat", "name": "Cap", "data": {"active": False}}
    task = await done(
        s, await s.http.patch("/v2/variations", json={"variations": [{"id": "shoe-42", "name": "42"}]}, headers=auth)
    )
    assert task["status"] == "DONE" and (await read(s, "variations"))["shoe-42"]["name"] == "42"
    task = await done(
        s, await s.http.patch("/v2/item_groups", json={"item_groups": [{"id": "g2", "parent_ids": []}]}, headers=auth)
    )
    assert task["status"] == "DONE"

    missing = await done(
        s, await s.http.patch("/v2/items", json={"items": [{"id": "ghost", "name": "G"}]}, headers=auth)
    )
    assert missing["status"] == "FAILED" and missing["error"]["record_id"] == "ghost"
    created = await done(
        s,
        await s.http.patch("/v2/items?on_missing=CREATE", json={"items": [{"id": "ghost", "name": "G"}]}, headers=auth),
    )
    assert created["result"]["items"]["created"] == 1

    for collection, ids in (("variations", ["shoe-42"]), ("items", ["hat", "ghost"]), ("item_groups", ["g2"])):
        body = {collection: [{"id": i} for i in ids]}
        task = await done(s, await s.http.request("DELETE", f"/v2/{collection}", json=body, headers=auth))
        assert task["result"][collection]["deleted"] == len(ids)
    assert set(await read(s, "items")) == {"shoe"} and await read(s, "variations") == {}
    assert set(await read(s, "item_groups")) == {"g1"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        ({"things": []}, "items"),
        ({"items": {"id": "a"}}, "items"),
        ({"items": []}, "items"),
        ({"items": [{"name": "no id"}]}, "items[0].id"),
        ({"items": [{"id": "a"}, {"id": ""}]}, "items[1].id"),
        ({"items": [{"id": "x" * 1025}]}, "items[0].id"),
        ({"items": [{"id": "a", "data": []}]}, "items[0].data"),
        ({"items": [{"id": "a", "suggested_score": "high"}]}, "items[0].suggested_score"),
        ({"items": [{"id": "a", "parent_ids": ["g"]}]}, "items[0].parent_ids"),
        ({"items": [{"id": str(n)} for n in range(1001)]}, "1000"),
    ],
)
async def test_bad_bodies_are_400_naming_the_record_and_field(http_stack, body, field) -> None:
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    response = await http_stack.http.put("/v2/items", headers=http_stack.auth(), **kwargs)
    assert response.status_code == 400, response.text
    assert field in response.text
    assert (await http_stack.http.get("/v1/tasks", headers=http_stack.auth())).json()["total_count"] == 0


async def test_a_variation_of_a_missing_item_fails_the_task_with_its_id(http_stack) -> None:
    body = {"variations": [{"id": "v1", "item_id": "nothing"}]}
    task = await done(http_stack, await http_stack.http.put("/v2/variations", json=body, headers=http_stack.auth()))
    assert task["status"] == "FAILED" and task["error"]["record_id"] == "v1"
    assert "nothing" in task["error"]["message"]


async def test_interleaved_writers_converge_to_the_sequential_result(http_stack) -> None:
    """Four clients send PUT, PATCH and DELETE on overlapping records; FIFO makes the outcome the sequential one."""
    rng = random.Random(3)
    model: dict[str, dict] = {}
    submitted: list[tuple[int, str, list[dict]]] = []
    lock = asyncio.Lock()

    async def client(n: int) -> None:
        for step in range(6):
            ids = [f"r{rng.randrange(6)}" for _ in range(3)]
            verb = rng.choice(["PUT", "PATCH", "DELETE"])
            records = (
                [{"id": i} for i in ids]
                if verb == "DELETE"
                else [{"id": i, "name": f"c{n}s{step}", "data": {f"k{n}": step}} for i in ids]
            )
            params = {"on_missing": "CREATE"} if verb == "PATCH" else {}
            async with lock:  # the order of submission is the order the server received them
                response = await http_stack.http.request(
                    verb, "/v2/items", params=params, json={"items": records}, headers=http_stack.auth()
                )
                assert response.status_code == 200, response.text
                submitted.append((response.json()["task_id"], verb, records))

    await asyncio.gather(*(client(n) for n in range(4)))
    for _task_id, verb, records in sorted(submitted, key=lambda s: s[0]):
        for record in records:
            if verb == "DELETE":
                model.pop(record["id"], None)
            elif verb == "PUT":
                model[record["id"]] = {"id": record["id"], "name": record["name"], "data": dict(record["data"])}
            else:
                current = model.setdefault(record["id"], {"id": record["id"], "name": None, "data": {}})
                current["name"] = record["name"]
                current["data"].update(record["data"])
    last = max(task_id for task_id, _, _ in submitted)

    async def probe() -> dict:
        return (await http_stack.http.get(f"/v1/task/{last}", headers=http_stack.auth())).json()

    await eventually(probe, lambda task: task["status"] == "DONE")
    assert await read(http_stack, "items", num_results_per_page=100) == model


async def test_idempotency_key_over_http(http_stack) -> None:
    headers = {**http_stack.auth(), "Idempotency-Key": "order-42"}
    body = {"items": [{"id": "a", "name": "A"}]}
    first = await http_stack.http.put("/v2/items", json=body, headers=headers)
    retry = await http_stack.http.put("/v2/items", json=body, headers=headers)
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    conflict = await http_stack.http.put("/v2/items", json={"items": [{"id": "b"}]}, headers=headers)
    assert conflict.status_code == 409, conflict.text
    assert conflict.json()["reason"] == "IDEMPOTENCY_KEY_REUSED"
    tasks = (await http_stack.http.get("/v1/tasks", headers=http_stack.auth())).json()
    assert tasks["total_count"] == 1
