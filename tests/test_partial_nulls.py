"""Issue 10 #12 (R8): null in a partial update removes the property, on the bulk API and /v2 PATCH."""

from __future__ import annotations

from tests.test_bulk_items import ITEMS, PARTIAL, applied, bulk_stack, send, stored


async def test_null_removes_a_property_in_a_bulk_partial_update_and_is_not_stored_on_creation(database_url) -> None:
    async with bulk_stack(database_url) as s:
        await applied(s, (await send(s, "PUT", ITEMS, [{"item_id": "a", "properties": {"title": "A", "price": 1}}]))[1])
        body = [
            {"item_id": "a", "properties": {"price": None}},
            {"item_id": "n", "properties": {"title": "N", "price": None}},
        ]
        await applied(s, (await send(s, "POST", PARTIAL, body, upsert="true"))[1])
        assert await stored(s) == {"a": {"title": "A"}, "n": {"title": "N"}}


async def test_null_removes_a_property_and_a_facet_in_a_v2_patch(http_stack) -> None:
    s = http_stack
    item = {"id": "a", "data": {"color": "red", "size": 1, "facets": {"brand": ["x"], "fit": ["slim"]}}}
    put = await s.http.put("/v2/items", json={"items": [item]}, headers=s.auth())
    await applied(s, put.json()["task_id"])
    patch = await s.http.patch(
        "/v2/items", json={"items": [{"id": "a", "data": {"color": None, "facets": {"fit": None}}}]}, headers=s.auth()
    )
    assert patch.status_code == 200, patch.text
    task = await applied(s, patch.json()["task_id"])
    assert task.result.items.updated == 1
    got = await s.http.get("/v2/items", headers=s.auth())
    assert got.json()["items"][0]["data"] == {"size": 1, "facets": {"brand": ["x"]}}
