"""GET /v1/tasks/{id}:watch: a task's changes as Server-Sent Events, closing on its final status."""

from __future__ import annotations

import json

import httpx

from tests.conftest import Stack, start_stack


async def read_events(http: httpx.AsyncClient, path: str, headers: dict[str, str]) -> list[tuple[str, dict]]:
    events: list[tuple[str, dict]] = []
    async with http.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((event, json.loads(line.removeprefix("data: "))))
    return events


async def test_watch_streams_the_task_until_it_ends(http_stack: Stack) -> None:
    body = {"items": [{"id": f"i{n}", "name": f"Item {n}"} for n in range(3)]}
    submitted = await http_stack.http.put("/v2/items", json=body, headers=http_stack.auth())
    task_id = submitted.json()["task_id"]
    events = await read_events(http_stack.http, f"/v1/tasks/{task_id}:watch?key=acme", http_stack.auth())
    assert {name for name, _ in events} == {"task"}
    assert all(task["id"] == task_id for _, task in events)
    final = events[-1][1]
    assert final["status"] == "DONE" and final["progress"]["records_total"] == 3
    assert final == (await http_stack.http.get(f"/v1/tasks/{task_id}", headers=http_stack.auth())).json()
    assert [e[1]["status"] for e in events].count("DONE") == 1


async def test_watch_of_a_queued_task_sends_it_at_once(database_url: str) -> None:
    async with start_stack(database_url, worker=False) as stack:
        submitted = await stack.http.put("/v2/items", json={"items": [{"id": "a"}]}, headers=stack.auth())
        task_id = submitted.json()["task_id"]
        async with stack.http.stream("GET", f"/v1/tasks/{task_id}:watch", headers=stack.auth()) as response:
            lines = response.aiter_lines()
            assert await anext(lines) == "event: task"
            assert json.loads((await anext(lines)).removeprefix("data: "))["status"] == "QUEUED"


async def test_watch_errors_are_plain_http_errors(http_stack: Stack) -> None:
    missing = await http_stack.http.get("/v1/tasks/999:watch", headers=http_stack.auth())
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
    other = await http_stack.http.put("/v2/items", json={"items": [{"id": "a"}]}, headers=http_stack.auth("globex"))
    foreign = await http_stack.http.get(f"/v1/tasks/{other.json()['task_id']}:watch", headers=http_stack.auth())
    assert foreign.status_code == 404
    bad = await http_stack.http.get("/v1/tasks/abc:watch", headers=http_stack.auth())
    assert bad.status_code == 400 and bad.json()["field_violations"][0]["field"] == "id"
    anonymous = await http_stack.http.get("/v1/tasks/1:watch")
    assert anonymous.status_code == 401
