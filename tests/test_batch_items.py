"""Items of a batch over HTTP: per-item codes, timestamp ordering, whole-request errors, isolation, expiry."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from catalogingest.v1 import batch_pb2
from service.db.engine import create_engine, session_factory
from service.domain import batch_items
from service.errors import NotFound
from service.store import postgres_backend
from tests.batch_helpers import add, delete, ingest, items_of, modify, new_version, scope, send, wait_ingestion
from tests.conftest import BACKENDS, start_stack
from tests.helpers import eventually


def key(item_id: str, item_type: str = "product", context: str = "") -> dict[str, str]:
    return {"id": item_id, "type": item_type, "context": context}


def item(item_id: str, ts: str | None = None, **attributes) -> dict:
    out: dict = {"id": item_id, "type": "product", "attributes": attributes}
    if ts:
        out["timestamp"] = ts
    return out


# Both PostgreSQL write paths, multi-row VALUES (small writes) and COPY through a staging table; SQLite has one.
each_write_path = pytest.mark.parametrize(
    ("backend", "write_path"),
    [(b, path) for b in BACKENDS for path in (("values", "copy") if b == "postgresql" else ("values",))],
    indirect=True,
)


@pytest.fixture
def write_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "copy":
        monkeypatch.setattr(postgres_backend, "COPY_FROM_ROWS", 1)
    return request.param


async def load(stack, version: str) -> dict:
    status = await wait_ingestion(
        stack, await ingest(stack, {"catalogVersion": version, "promoteCatalogOnCompletion": True})
    )
    assert status["status"] == "SUCCESS", status
    return await items_of(stack)


async def test_every_item_validation_error_has_its_code(http_stack) -> None:
    stack = http_stack
    version = await new_version(stack)
    body = [
        {"id": "", "type": "product", "attributes": {}},
        {"id": " a b", "type": "product", "attributes": {}},
        {"id": "caf\u00e9/x", "type": "product", "attributes": {}},
        {"id": "ok1", "type": "product", "context": "store\t1", "attributes": {}},
        {"id": "ok2", "attributes": {}},
        {"id": "ok3", "type": "product", "timestamp": "yesterday", "attributes": {}},
        {"id": "ok4", "type": "product", "timestamp": "2024-09-05T10:50:42", "attributes": {}},
        "not an object",
        {"id": 7, "type": "product", "attributes": {}},
        {"id": "ok5", "type": "product", "attributes": [1, 2]},
        {"id": "ok6", "type": "product"},
        {"id": "ok7", "type": "variant", "parentId": "p/1", "attributes": {}},
        {"id": "ok8", "type": "product", "attributes": {"title": "a\u0000b"}},
        {"id": "ok9", "type": "pro\u0000duct", "attributes": {}},
        {
            "id": "good_one-1",
            "type": "product",
            "context": "store_1",
            "timestamp": "1985-04-12T23:20:50.52Z",
            "attributes": {"a": 1},
        },
        # R1: the id rule of every API, wider than the document's letters, digits, '_' and '-'.
        {"id": "a b", "type": "product", "context": "store 1", "attributes": {}},
        {"id": "caf\u00e9 ?#", "type": "product", "attributes": {}},
    ]
    results = await add(stack, body, version)
    assert [r["code"] for r in results] == [1, 1, 1, 2, 3, 4, 4, 5, 5, 5, 5, 6, 5, 5, 0, 0, 0]
    assert results[0] == {"id": key("", "product"), "code": 1, "message": "id must not be empty"}
    assert "whitespace" in results[1]["message"] and '" a b"' in results[1]["message"]
    assert "'/'" in results[2]["message"]
    assert results[3]["id"] == key("ok1", context="store\t1") and "context" in results[3]["message"]
    assert results[4] == {"id": key("ok2", ""), "code": 3, "message": "type is required"}
    assert "RFC 3339" in results[5]["message"]
    assert results[7]["message"] == "an item must be a JSON object"
    assert results[8]["message"] == "id must be a string"
    assert results[9]["message"] == "attributes must be a JSON object"
    assert results[10]["message"] == "attributes is required"
    assert results[11]["id"] == key("ok7", "variant") and "parentId" in results[11]["message"]
    assert results[12]["message"] == "attributes.title must not contain NUL characters (\\u0000)"
    assert results[13]["message"] == "type must not contain NUL characters"
    assert results[14] == {"id": key("good_one-1", context="store_1"), "code": 0}
    # Only the valid item reached the batch.
    assert set(await load(stack, version)) == {"good_one-1", "a b", "caf\u00e9 ?#"}


async def test_whole_request_errors_are_http_errors(http_stack) -> None:
    stack = http_stack
    version = await new_version(stack)
    not_array = await send(stack, {"id": "x"}, version)
    assert not_array.status_code == 400 and "JSON array" in not_array.json()["message"]
    bad_json = await stack.http.post(
        "/batch-imports/items", params=scope(batch_id=version), content=b"[{", headers=stack.auth()
    )
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["message"]
    unknown = await send(stack, [item("a")], "no-such-batch")
    assert unknown.status_code == 404 and "batch 'no-such-batch' not found" in unknown.json()["message"]
    missing_env = await stack.http.post(
        "/batch-imports/items", params={"tenant": "acme", "batch_id": version}, json=[], headers=stack.auth()
    )
    assert missing_env.status_code == 400 and "environment is required" in missing_env.json()["message"]
    no_batch = await stack.http.post("/batch-imports/items", params=scope(), json=[], headers=stack.auth())
    assert no_batch.status_code == 400 and no_batch.json()["message"] == "batch_id: required"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_body_over_the_limit_is_413(database_url) -> None:
    async with start_stack(database_url, max_body_bytes=1000) as stack:
        version = await new_version(stack)
        response = await send(stack, [item(f"i{n}", title="x" * 50) for n in range(50)], version)
    assert response.status_code == 413 and "limit of 1000 bytes" in response.json()["message"]


@each_write_path
async def test_an_older_operation_than_the_items_last_is_ignored(write_path, http_stack) -> None:
    stack = http_stack
    version = await new_version(stack)
    await add(stack, [item("a", "2024-01-01T00:00:00Z", v=1), item("b", "2024-01-01T00:00:00Z", v=1)], version)
    # A newer delete, then an older modify: the modify arrives late and is ignored.
    assert (await delete(stack, [{"id": "a", "type": "product", "timestamp": "2024-03-01T00:00:00Z"}], version))[0][
        "code"
    ] == 0
    late = await modify(stack, [item("a", "2024-02-01T00:00:00Z", v=2)], version)
    assert late == [{"id": key("a"), "code": 0}]
    # An older add after a newer modify is ignored too; the newer modify merges only what it names.
    await modify(
        stack, [{"id": "b", "type": "product", "timestamp": "2024-05-01T00:00:00Z", "attributes": {"w": 5}}], version
    )
    await add(stack, [item("b", "2024-04-01T00:00:00Z", v=9, other=1)], version)
    # Out-of-order within one call: the newest operation wins whatever its position.
    await add(stack, [item("c", "2024-06-02T00:00:00Z", v="new"), item("c", "2024-06-01T00:00:00Z", v="old")], version)
    records = await load(stack, version)
    assert set(records) == {"b", "c"}
    assert records["b"]["data"] == {"v": 1, "w": 5}
    assert records["c"]["data"] == {"v": "new"}


@each_write_path
async def test_a_newer_add_revives_a_deleted_item_and_modifies_merge_in_order(write_path, http_stack) -> None:
    stack = http_stack
    version = await new_version(stack)
    await delete(stack, [{"id": "a", "type": "product", "timestamp": "2024-01-02T00:00:00Z"}], version)
    await add(stack, [item("a", "2024-01-03T00:00:00Z", v=1)], version)
    await modify(
        stack,
        [
            {"id": "a", "type": "product", "timestamp": "2024-01-05T00:00:00Z", "attributes": {"x": "second"}},
            {"id": "a", "type": "product", "timestamp": "2024-01-04T00:00:00Z", "attributes": {"x": "first", "y": 1}},
        ],
        version,
    )
    assert (await load(stack, version))["a"]["data"] == {"v": 1, "x": "second", "y": 1}


async def test_list_batches(http_stack) -> None:
    stack = http_stack
    # POST /batch-imports does not create the environment (R9): it must exist first.
    unknown = await stack.http.post("/batch-imports", params=scope(), headers=stack.auth())
    assert unknown.status_code == 404 and "environment 'prod' not found" in unknown.json()["message"]
    version = await new_version(stack)
    created = await stack.http.post("/batch-imports", params=scope(), headers=stack.auth())
    assert created.status_code == 200 and list(created.json()) == ["id"]
    listed = await stack.http.get("/batch-imports", params=scope(), headers=stack.auth())
    assert listed.status_code == 200
    assert [b["id"] for b in listed.json()] == [created.json()["id"], version]
    assert all(b["createdAt"].endswith("Z") for b in listed.json())
    # A batch created with POST /batch-imports takes items like any other.
    assert (await add(stack, [item("a", v=1)], created.json()["id"]))[0]["code"] == 0


async def test_tenant_and_environment_isolation(http_stack) -> None:
    stack = http_stack
    version = await new_version(stack)
    other_tenant = await stack.http.post(
        "/batch-imports/items", params=scope(batch_id=version), json=[item("a")], headers=stack.auth("globex")
    )
    assert other_tenant.status_code == 403 and "tenant 'acme'" in other_tenant.json()["message"]
    globex_own = await stack.http.post(
        "/batch-imports/items",
        params=scope(tenant="globex", batch_id=version),
        json=[item("a")],
        headers=stack.auth("globex"),
    )
    assert globex_own.status_code == 404
    other_env = await send(stack, [item("a")], version, environment="staging")
    assert other_env.status_code == 404 and "environment 'staging' not found" in other_env.json()["message"]
    # Each environment numbers its own versions and batches: "staging" has its own batch "2".
    staging = await new_version(stack, "staging")
    assert staging == version
    assert (await send(stack, [item("s", v=1)], staging, environment="staging")).status_code == 200
    listed = await stack.http.get("/batch-imports", params=scope("staging"), headers=stack.auth("globex"))
    assert listed.status_code == 403


async def test_an_expired_batch_is_404_then_purged_by_the_worker(database_url) -> None:
    async with start_stack(database_url, batch_expiry_seconds=1.0, batch_purge_interval_seconds=0.2) as stack:
        version = await new_version(stack)
        assert (await add(stack, [item("a", v=1)], version))[0]["code"] == 0

        async def status() -> int:
            return (await send(stack, [item("b")], version)).status_code

        await eventually(status, lambda code: code == 404, timeout=10)
        listed = await stack.http.get("/batch-imports", params=scope(), headers=stack.auth())
        assert listed.json() == []
        ingestion = await stack.http.post(
            "/batch-imports/ingestions", params=scope(), json={"catalogVersion": version}, headers=stack.auth()
        )
        assert ingestion.status_code == 404 and f"batch '{version}'" in ingestion.json()["message"]

        async def rows() -> tuple[int, int]:
            async with stack.engine.connect() as conn:
                batches = (await conn.execute(text("SELECT count(*) FROM batches"))).scalar_one()
                items = (await conn.execute(text("SELECT count(*) FROM batch_items"))).scalar_one()
            return batches, items

        assert await eventually(rows, lambda counts: counts == (0, 0), timeout=10) == (0, 0)


@each_write_path
@pytest.mark.parametrize("op", ["add", "modify", "delete"])
async def test_a_write_into_a_purged_batch_is_not_found(write_path, database_url, op) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            items = [batch_pb2.BatchItem(id=f"i{n}", type="product", attributes_json="{}") for n in range(10)]
            with pytest.raises(NotFound, match="the batch expired"):
                await batch_items.write_items(session, "purged", op, items)
    finally:
        await engine.dispose()
