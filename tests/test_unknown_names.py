"""Issue 10 #12 (R9): unknown names are errors. An unknown `environment` on a batch or version call is a
404 naming it and creates nothing; unknown keys on batch items are answered with a per-item warning."""

from __future__ import annotations

import pytest

from tests.batch_helpers import new_version, scope

CALLS = [
    ("POST", "/batch-imports", {}, None),
    ("GET", "/batch-imports", {}, None),
    ("POST", "/batch-imports/items", {"batch_id": "1"}, [{"id": "a", "type": "product", "attributes": {}}]),
    ("PATCH", "/batch-imports/items", {"batch_id": "1"}, [{"id": "a", "type": "product", "attributes": {}}]),
    ("POST", "/batch-imports/items/delete", {"batch_id": "1"}, [{"id": "a", "type": "product"}]),
    ("POST", "/batch-imports/ingestions", {}, {"catalogVersion": "1"}),
    ("GET", "/batch-imports/ingestions", {}, None),
    ("GET", "/batch-imports/ingestions/abc", {}, None),
    ("DELETE", "/batch-imports/ingestions/abc", {}, None),
    ("GET", "/catalogs", {}, None),
    ("GET", "/catalogs/active", {}, None),
    ("POST", "/catalogs/activate/1", {}, None),
    ("DELETE", "/catalogs/1", {}, None),
]


@pytest.mark.parametrize("call", CALLS, ids=[f"{m} {p}" for m, p, _, _ in CALLS])
async def test_an_unknown_environment_is_404_naming_it_and_creates_nothing(http_stack, call) -> None:
    s = http_stack
    await new_version(s, "prod")  # another environment exists
    method, path, params, body = call
    response = await s.http.request(method, path, params=scope("typo", **params), json=body, headers=s.auth())
    assert response.status_code == 404, response.text
    assert "environment 'typo' not found" in response.text
    versions = await s.http.get("/catalogs", params=scope("typo"), headers=s.auth())
    assert versions.status_code == 404
    assert (await s.http.post("/catalogs", params=scope("typo"), headers=s.auth())).status_code == 200


async def test_unknown_keys_of_a_batch_item_are_warned_about_and_the_item_is_stored(http_stack) -> None:
    s = http_stack
    version = await new_version(s)
    items = [
        {"id": "a", "type": "variant", "parentID": "x", "attributes": {}},
        {"id": "b", "type": "product", "attributes": {}},
    ]
    for method, path in (("POST", "/batch-imports/items"), ("PATCH", "/batch-imports/items")):
        response = await s.http.request(method, path, params=scope(batch_id=version), json=items, headers=s.auth())
        assert response.status_code == 200, response.text
        assert response.json() == [
            {
                "id": {"id": "a", "type": "variant", "context": ""},
                "code": 0,
                "warnings": ["unknown key 'parentID' ignored"],
            },
            {"id": {"id": "b", "type": "product", "context": ""}, "code": 0},
        ]
