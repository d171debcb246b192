"""What the batch imports tests share: the documented calls over HTTP, and waiting for an ingestion."""

from __future__ import annotations

from typing import Any

from tests.helpers import eventually

ENV = "prod"


def scope(environment: str = ENV, tenant: str = "acme", **extra: Any) -> dict[str, Any]:
    return {"tenant": tenant, "environment": environment, **extra}


async def new_version(stack: Any, environment: str = ENV, *, batch: bool = True) -> str:
    params = scope(environment, **({"createBatchImport": "true"} if batch else {}))
    response = await stack.http.post("/catalogs", params=params, headers=stack.auth())
    assert response.status_code == 200, response.text
    return response.json()["version"]


async def send(
    stack: Any, items: Any, batch_id: str, *, method: str = "POST", path: str = "/batch-imports/items", **kw: Any
) -> Any:
    environment = kw.pop("environment", ENV)
    response = await stack.http.request(
        method, path, params=scope(environment, batch_id=batch_id), json=items, headers=stack.auth()
    )
    return response


async def add(stack: Any, items: Any, batch_id: str, **kw: Any) -> list[dict[str, Any]]:
    response = await send(stack, items, batch_id, **kw)
    assert response.status_code == 200, response.text
    return response.json()


async def modify(stack: Any, items: Any, batch_id: str) -> list[dict[str, Any]]:
    response = await send(stack, items, batch_id, method="PATCH")
    assert response.status_code == 200, response.text
    return response.json()


async def delete(stack: Any, items: Any, batch_id: str) -> list[dict[str, Any]]:
    response = await send(stack, items, batch_id, path="/batch-imports/items/delete")
    assert response.status_code == 200, response.text
    return response.json()


async def ingest(stack: Any, body: dict[str, Any], environment: str = ENV) -> str:
    response = await stack.http.post(
        "/batch-imports/ingestions", params=scope(environment), json=body, headers=stack.auth()
    )
    assert response.status_code == 200, response.text
    return response.json()["id"]


async def wait_ingestion(stack: Any, ingestion_id: str, environment: str = ENV) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        response = await stack.http.get(
            f"/batch-imports/ingestions/{ingestion_id}", params=scope(environment), headers=stack.auth()
        )
        assert response.status_code == 200, response.text
        return response.json()

    return await eventually(probe, lambda body: body["status"] != "RUNNING", timeout=30)


async def items_of(stack: Any, environment: str = ENV, collection: str = "items") -> dict[str, dict[str, Any]]:
    """The active version's records, read back through the async items API."""
    response = await stack.http.get(
        f"/v2/{collection}", params={"key": "acme", "section": environment}, headers=stack.auth()
    )
    assert response.status_code == 200, response.text
    return {record["id"]: record for record in response.json()[collection]}


async def active_version(stack: Any, environment: str = ENV) -> dict[str, Any]:
    response = await stack.http.get("/catalogs/active", params=scope(environment), headers=stack.auth())
    assert response.status_code == 200, response.text
    return response.json()
