"""Catalog versions over HTTP and gRPC: create, list, active, activate (minItemCount), rollback, prune, delete."""

from __future__ import annotations

import grpc
import pytest

from catalogingest.v1 import batch_pb2
from tests.batch_helpers import active_version, add, ingest, items_of, new_version, scope, wait_ingestion
from tests.conftest import start_stack
from tests.helpers import error_details


async def load(stack, version: str, ids: list[str], promote: bool = True) -> None:
    await add(stack, [{"id": i, "type": "product", "attributes": {"v": version}} for i in ids], version)
    status = await wait_ingestion(
        stack, await ingest(stack, {"catalogVersion": version, "promoteCatalogOnCompletion": promote})
    )
    assert status["status"] == "SUCCESS", status


async def versions(stack) -> list[dict]:
    response = await stack.http.get("/catalogs", params=scope(), headers=stack.auth())
    assert response.status_code == 200, response.text
    return response.json()


async def activate(stack, version: str, **params):
    return await stack.http.post(f"/catalogs/activate/{version}", params=scope(**params), headers=stack.auth())


async def test_create_list_and_activate(http_stack) -> None:
    stack = http_stack
    created = await stack.http.post("/catalogs", params=scope(), headers=stack.auth())
    assert created.status_code == 200, created.text
    body = created.json()
    # The environment's catalog starts with an (empty) active version 1; the new one is 2.
    assert body == {"version": "2", "state": "INACTIVE", "createdAt": body["createdAt"], "itemCount": 0}
    listed = await versions(stack)
    assert [(v["version"], v["state"]) for v in listed] == [("1", "ACTIVE"), ("2", "INACTIVE")]
    assert "activatedAt" in listed[0] and "activatedAt" not in listed[1]
    # Without createBatchImport there is no batch "2".
    assert (await stack.http.get("/batch-imports", params=scope(), headers=stack.auth())).json() == []
    await load(stack, await new_version(stack), ["a", "b"], promote=False)
    activated = await activate(stack, "3")
    assert activated.status_code == 200, activated.text
    assert activated.json()["state"] == "ACTIVE" and activated.json()["itemCount"] == 2
    assert (await active_version(stack))["version"] == "3"
    assert set(await items_of(stack)) == {"a", "b"}
    states = {v["version"]: (v["state"], v["itemCount"]) for v in await versions(stack)}
    assert states == {"1": ("INACTIVE", 0), "2": ("INACTIVE", 0), "3": ("ACTIVE", 2)}


async def test_min_item_count_refuses_a_small_version(http_stack) -> None:
    stack = http_stack
    version = await new_version(stack)
    await load(stack, version, ["a", "b"], promote=False)
    refused = await activate(stack, version, minItemCount=3)
    assert refused.status_code == 400
    assert refused.json()["message"] == f"catalog version '{version}' holds 2 items, fewer than minItemCount 3"
    assert (await active_version(stack))["version"] == "1"
    assert (await activate(stack, version, minItemCount=2)).status_code == 200


async def test_rollback_is_activating_the_previous_version(http_stack) -> None:
    stack = http_stack
    good = await new_version(stack)
    await load(stack, good, ["a", "b", "c"])
    bad = await new_version(stack)
    await load(stack, bad, ["x"])
    assert set(await items_of(stack)) == {"x"}
    rolled_back = await activate(stack, good)
    assert rolled_back.status_code == 200 and rolled_back.json()["version"] == good
    assert set(await items_of(stack)) == {"a", "b", "c"}


async def test_deleting_versions(http_stack) -> None:
    stack = http_stack
    version = await new_version(stack)
    await load(stack, version, ["a"])
    refused = await stack.http.delete(f"/catalogs/{version}", params=scope(), headers=stack.auth())
    assert refused.status_code == 400
    assert refused.json()["message"] == (
        f"catalog version '{version}' is the active version and cannot be deleted; activate another version first"
    )
    assert (await stack.http.delete("/catalogs/1", params=scope(), headers=stack.auth())).status_code == 200
    assert [v["version"] for v in await versions(stack)] == [version]
    gone = await stack.http.delete("/catalogs/1", params=scope(), headers=stack.auth())
    assert gone.status_code == 404 and "catalog version '1' not found" in gone.json()["message"]
    bad = await stack.http.delete("/catalogs/latest", params=scope(), headers=stack.auth())
    assert bad.status_code == 400 and "version number" in bad.json()["message"]
    missing = await stack.http.get("/catalogs/active", params=scope("nowhere"), headers=stack.auth())
    assert missing.status_code == 404 and "environment 'nowhere' not found" in missing.json()["message"]


@pytest.mark.parametrize("kept", [1, 2])
async def test_promotion_keeps_versions_kept_previous_versions(database_url, kept: int) -> None:
    async with start_stack(database_url, versions_kept=kept) as stack:
        loading = await new_version(stack)  # version 2: never activated, so never pruned
        for _ in range(3):
            version = await new_version(stack)
            await load(stack, version, ["a"])
        remaining = [v["version"] for v in await versions(stack)]
        # Versions 1, 3, 4 were active before 5; the newest `kept` of them remain, and 2 (still loading).
        assert remaining == sorted([loading, *[str(n) for n in range(5 - kept, 5)], "5"], key=int)


async def test_versions_over_grpc(stack) -> None:
    md = stack.metadata()
    created = await stack.batches.CreateCatalogVersion(
        batch_pb2.CreateCatalogVersionRequest(tenant="acme", environment="grpc", create_batch_import=True), metadata=md
    )
    assert created.version.version == "2" and created.version.batch_import_id == "2"
    assert created.version.state == batch_pb2.CATALOG_VERSION_STATE_INACTIVE
    activated = await stack.batches.ActivateCatalogVersion(
        batch_pb2.ActivateCatalogVersionRequest(tenant="acme", environment="grpc", version="2"), metadata=md
    )
    assert activated.version.state == batch_pb2.CATALOG_VERSION_STATE_ACTIVE
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.batches.DeleteCatalogVersion(
            batch_pb2.DeleteCatalogVersionRequest(tenant="acme", environment="grpc", version="2"), metadata=md
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_details(refused.value)[1] == "VERSION_ACTIVE"
    with pytest.raises(grpc.aio.AioRpcError) as other_tenant:
        await stack.batches.ListCatalogVersions(
            batch_pb2.ListCatalogVersionsRequest(tenant="acme", environment="grpc"), metadata=stack.metadata("globex")
        )
    assert other_tenant.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # globex has no environment "grpc": NOT_FOUND naming it, and nothing is created (R9).
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await stack.batches.ListCatalogVersions(
            batch_pb2.ListCatalogVersionsRequest(tenant="globex", environment="grpc"), metadata=stack.metadata("globex")
        )
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND and "'grpc'" in unknown.value.details()


@pytest.mark.parametrize("version", ["²", "١٢", "latest", "0", "-1"])
async def test_a_version_that_is_no_ascii_number_is_a_400_naming_it(http_stack, version: str) -> None:
    """Unicode digits ('²', Arabic-Indic) pass str.isdigit() but are no version number (they were a 500)."""
    stack = http_stack
    await new_version(stack)
    for answer in (
        await activate(stack, version),
        await stack.http.delete(f"/catalogs/{version}", params=scope(), headers=stack.auth()),
    ):
        assert answer.status_code == 400, answer.text
        assert "version must be a catalog version number" in answer.json()["message"]
