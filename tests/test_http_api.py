"""The documented HTTP paths of the foundation, over real HTTP against the gateway and the real service."""

from __future__ import annotations

import base64

import pytest

from catalogingest.v1 import catalog_pb2, record_pb2
from tests.conftest import start_stack
from tests.helpers import wait_task


async def seed(stack) -> int:
    written = await stack.catalog.ReplaceRecords(
        catalog_pb2.ReplaceRecordsRequest(
            collection="items",
            records=[
                record_pb2.Record(id=f"i{n}", name=f"Item {n}", suggested_score=n, data_json='{"url": "https://x/1"}')
                for n in range(5)
            ],
        ),
        metadata=stack.metadata(),
    )
    await wait_task(stack, written.task_id)
    return written.task_id


async def test_status_ingestion_is_ok_without_a_token(http_stack) -> None:
    response = await http_stack.http.get("/status/ingestion")
    assert response.status_code == 200 and response.json() == {"message": "OK"}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_status_ingestion_is_503_without_a_worker(database_url) -> None:
    async with start_stack(database_url, worker=False) as stack:
        response = await stack.http.get("/status/ingestion")
    assert response.status_code == 503 and "no live worker" in response.json()["message"]


async def test_task_by_id_on_both_documented_paths(http_stack) -> None:
    task_id = await seed(http_stack)
    for path in (f"/v1/tasks/{task_id}", f"/v1/task/{task_id}"):
        response = await http_stack.http.get(path, params={"key": "acme"}, headers=http_stack.auth())
        assert response.status_code == 200, response.text
        task = response.json()
        assert task["id"] == task_id and isinstance(task["id"], int)
        assert task["status"] == "DONE" and task["type"] == "records_replace"
        assert task["result"]["items"]["created"] == 5 and isinstance(task["result"]["items"]["created"], int)
        assert task["submission_time"].endswith("Z")


async def test_task_list_with_filters(http_stack) -> None:
    task_id = await seed(http_stack)
    response = await http_stack.http.get(
        "/v1/tasks", params={"key": "acme", "status": "DONE", "num_results_per_page": 10}, headers=http_stack.auth()
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_count"] == 1 and [t["id"] for t in body["tasks"]] == [task_id]
    assert body["status_counts"]["DONE"] == 1 and body["status_counts"]["QUEUED"] == 0
    none = await http_stack.http.get("/v1/tasks", params={"status": "FAILED"}, headers=http_stack.auth())
    assert none.json()["total_count"] == 0
    bad = await http_stack.http.get("/v1/tasks", params={"status": "SOMETIMES"}, headers=http_stack.auth())
    assert bad.status_code == 400 and "status" in bad.json()["message"]


async def test_read_items_back_with_ids_and_pages(http_stack) -> None:
    await seed(http_stack)
    response = await http_stack.http.get(
        "/v2/items", params={"key": "acme", "num_results_per_page": 2, "page": 2}, headers=http_stack.auth()
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_count"] == 5
    assert [item["id"] for item in body["items"]] == ["i2", "i3"]
    first = body["items"][0]
    assert first.pop("update_time").endswith("Z")
    assert first == {"id": "i2", "name": "Item 2", "suggested_score": 2.0, "data": {"url": "https://x/1"}, "version": 1}
    picked = await http_stack.http.get(
        "/v2/items?key=acme&section=Products&id=i4&id=i0&id=nope", headers=http_stack.auth()
    )
    assert sorted(item["id"] for item in picked.json()["items"]) == ["i0", "i4"]
    assert picked.json()["total_count"] == 2
    empty = await http_stack.http.get("/v2/variations", params={"key": "acme"}, headers=http_stack.auth())
    assert empty.status_code == 200 and empty.json() == {"variations": [], "total_count": 0}


async def test_auth_errors_have_the_standard_codes(http_stack) -> None:
    task_id = await seed(http_stack)
    assert (await http_stack.http.get("/v1/tasks")).status_code == 401
    wrong = await http_stack.http.get("/v1/tasks", headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401 and wrong.json()["message"] == "invalid token"
    basic = base64.b64encode(f"{http_stack.tokens['acme']}:".encode()).decode()
    assert (await http_stack.http.get("/v1/tasks", headers={"Authorization": f"Basic {basic}"})).status_code == 200
    other_key = await http_stack.http.get("/v2/items", params={"key": "globex"}, headers=http_stack.auth())
    assert other_key.status_code == 403 and "key 'globex'" in other_key.json()["message"]
    other_tenant = await http_stack.http.get(f"/v1/tasks/{task_id}", headers=http_stack.auth("globex"))
    assert other_tenant.status_code == 404
    missing = await http_stack.http.get("/v2/items", params={"section": "Nope"}, headers=http_stack.auth())
    assert missing.status_code == 404 and "section 'Nope' not found" in missing.json()["message"]


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("PUT", "/v2/items", {"key": "acme", "section": "a\x00b"}),
        ("GET", "/v2/items", {"key": "acme", "section": "a\x00b"}),
        ("POST", "/batch-imports", {"tenant": "acme", "environment": "a\x00b"}),
        ("GET", "/batch-imports", {"tenant": "acme", "environment": "a\x00b"}),
        ("GET", "/catalogs", {"tenant": "acme", "environment": "a\x00b"}),
        ("GET", "/data/v2/projects/acme/catalogs/a%00b", {}),
    ],
)
async def test_a_catalog_name_with_a_nul_is_refused_not_a_crash(http_stack, method, path, params) -> None:
    response = await http_stack.http.request(method, path, params=params, json={"items": []}, headers=http_stack.auth())
    assert response.status_code in (400, 404), response.text
    assert "internal" not in response.text.lower()
