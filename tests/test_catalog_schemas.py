"""Catalog definitions of the bulk per-item API: create, get, list, add fields; over HTTP and gRPC."""

from __future__ import annotations

import grpc
import pytest

from catalogingest.v1 import catalog_pb2
from tests.helpers import error_details

CATALOGS = "/data/v2/projects/acme/catalogs"
SHOP_FIELDS = [
    {"name": "title", "type": "string", "searchable": True},
    {"name": "price", "type": "number"},
    {"name": "sku", "type": "string", "required": True},
]


def field(name: str, type_: str, searchable: bool = False, required: bool = False) -> dict:
    return {"name": name, "type": type_, "searchable": searchable, "required": required}


async def create(stack, name: str, fields: list[dict], tenant: str = "acme"):
    return await stack.http.post(
        f"/data/v2/projects/{tenant}/catalogs", json={"name": name, "fields": fields}, headers=stack.auth(tenant)
    )


async def test_create_get_list_and_add_fields(http_stack) -> None:
    s, auth = http_stack, http_stack.auth()
    created = await create(s, "shop", SHOP_FIELDS)
    assert created.status_code == 200, created.text
    body = created.json()
    expected_fields = [field("title", "string", True), field("price", "number"), field("sku", "string", required=True)]
    assert body == {"id": "shop", "name": "shop", "fields": expected_fields, "create_time": body["create_time"]}

    got = await s.http.get(f"{CATALOGS}/shop", headers=auth)
    assert got.status_code == 200 and got.json() == body

    added = await s.http.patch(
        f"{CATALOGS}/shop",
        json={"fields": [{"name": "in_stock", "type": "boolean"}, {"name": "title", "type": "string"}]},
        headers=auth,
    )
    assert added.status_code == 200, added.text
    # Restating a field with its type is allowed; its flags are the restated ones.
    assert added.json()["fields"] == [
        field("title", "string"),
        field("price", "number"),
        field("sku", "string", required=True),
        field("in_stock", "boolean"),
    ]
    assert (await s.http.get(f"{CATALOGS}/shop", headers=auth)).json() == added.json()

    assert (await create(s, "outlet", [{"name": "url", "type": "url"}])).status_code == 200
    listed = await s.http.get(CATALOGS, headers=auth)
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["catalogs"]] == ["outlet", "shop"]
    assert listed.json()["next_page_token"] == ""


async def test_every_field_type_can_be_defined(http_stack) -> None:
    types = ["string", "long text", "number", "boolean", "date", "datetime", "duration", "list", "url", "json"]
    response = await create(http_stack, "typed", [{"name": f"f{i}", "type": t} for i, t in enumerate(types)])
    assert response.status_code == 200, response.text
    assert [f["type"] for f in response.json()["fields"]] == types


async def test_a_field_type_cannot_change(http_stack) -> None:
    s = http_stack
    await create(s, "shop", SHOP_FIELDS)
    response = await s.http.patch(
        f"{CATALOGS}/shop", json={"fields": [{"name": "price", "type": "string"}]}, headers=s.auth()
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": "field 'price' is of type 'number' and cannot become 'string'; a field's type cannot change"
    }
    assert (await s.http.get(f"{CATALOGS}/shop", headers=s.auth())).json()["fields"][1] == field("price", "number")


async def test_an_existing_name_is_409(http_stack) -> None:
    s = http_stack
    assert (await create(s, "shop", SHOP_FIELDS)).status_code == 200
    again = await create(s, "shop", [])
    assert again.status_code == 409 and again.json() == {"message": "catalog 'shop' already exists"}
    # A catalog that a write created without a schema exists too; its fields are added with PATCH.
    write = await s.http.put("/v2/items", params={"section": "free"}, json={"items": [{"id": "a"}]}, headers=s.auth())
    assert write.status_code == 200
    assert (await create(s, "free", SHOP_FIELDS)).status_code == 409
    assert (await s.http.get(f"{CATALOGS}/free", headers=s.auth())).json()["fields"] == []
    added = await s.http.patch(f"{CATALOGS}/free", json={"fields": SHOP_FIELDS[:1]}, headers=s.auth())
    assert added.status_code == 200 and added.json()["fields"] == [field("title", "string", True)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "a/b", "fields": []}, "name: must not contain '/'"),
        ({"name": "", "fields": []}, "name must be 1 to 200 characters"),
        ({"name": "x" * 201, "fields": []}, "name must be 1 to 200 characters"),
        (
            {"name": "c", "fields": [{"name": "price", "type": "money"}]},
            "fields[0].type: must be one of string, long text, number, boolean, date, datetime, duration, list,"
            ' url, json (got "money")',
        ),
        (
            {"name": "c", "fields": [{"name": "a", "type": "url"}, {"name": "a", "type": "url"}]},
            "fields[1].name: duplicate field name 'a'",
        ),
        ({"name": "c", "fields": [{"type": "url"}]}, "fields[0].name: required, a non-empty string"),
    ],
)
async def test_invalid_definitions_are_400(http_stack, body: dict, message: str) -> None:
    response = await http_stack.http.post(CATALOGS, json=body, headers=http_stack.auth())
    assert response.status_code == 400
    assert response.json() == {"message": message}


async def test_unknown_catalog_is_404(http_stack) -> None:
    s = http_stack
    got = await s.http.get(f"{CATALOGS}/nope", headers=s.auth())
    assert got.status_code == 404 and got.json() == {"message": "catalog 'nope' not found"}
    patched = await s.http.patch(f"{CATALOGS}/nope", json={"fields": SHOP_FIELDS}, headers=s.auth())
    assert patched.status_code == 404 and patched.json() == {"message": "catalog 'nope' not found"}


async def test_tenant_isolation_on_every_route(http_stack) -> None:
    """Another tenant's project is NOT_FOUND, never PERMISSION_DENIED: its existence is not revealed."""
    s = http_stack
    assert (await create(s, "shop", SHOP_FIELDS)).status_code == 200
    globex = s.auth("globex")
    items = [{"item_id": "a", "properties": {"title": "A", "sku": "1"}}]
    calls = [
        ("POST", CATALOGS, {"name": "stolen", "fields": []}),
        ("GET", CATALOGS, None),
        ("GET", f"{CATALOGS}/shop", None),
        ("PATCH", f"{CATALOGS}/shop", {"fields": [{"name": "x", "type": "string"}]}),
        ("PUT", f"{CATALOGS}/shop/items", items),
        ("POST", f"{CATALOGS}/shop/items/partial-update", items),
    ]
    for method, path, body in calls:
        response = await s.http.request(method, path, json=body, headers=globex)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json() == {"message": "project 'acme' not found"}, (method, path)
    # globex's own project has no catalog called shop.
    response = await s.http.get("/data/v2/projects/globex/catalogs/shop", headers=globex)
    assert response.status_code == 404 and response.json() == {"message": "catalog 'shop' not found"}
    assert (await s.http.get("/data/v2/projects/globex/catalogs", headers=globex)).json()["catalogs"] == []
    # Nothing was created or changed in acme's project.
    listed = (await s.http.get(CATALOGS, headers=s.auth())).json()["catalogs"]
    assert [(c["id"], len(c["fields"])) for c in listed] == [("shop", 3)]
    unauthenticated = await s.http.get(CATALOGS)
    assert unauthenticated.status_code == 401 and set(unauthenticated.json()) == {"message"}


async def test_grpc_definitions(stack) -> None:
    s, md = stack, stack.metadata()
    shop = catalog_pb2.CatalogDefinition(
        name="shop", fields=[catalog_pb2.CatalogField(name="price", type="number", searchable=True)]
    )
    created = await s.catalog.CreateCatalogDefinition(
        catalog_pb2.CreateCatalogDefinitionRequest(project_id="acme", catalog=shop), metadata=md
    )
    assert created.catalog.id == "shop" and created.catalog.fields[0].searchable
    assert created.catalog.HasField("create_time")

    with pytest.raises(grpc.aio.AioRpcError) as exists:
        await s.catalog.CreateCatalogDefinition(
            catalog_pb2.CreateCatalogDefinitionRequest(project_id="acme", catalog=shop), metadata=md
        )
    assert exists.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error_details(exists.value) == ([], "CATALOG_EXISTS")

    with pytest.raises(grpc.aio.AioRpcError) as change:
        await s.catalog.AddCatalogFields(
            catalog_pb2.AddCatalogFieldsRequest(
                project_id="acme", catalog_id="shop", fields=[catalog_pb2.CatalogField(name="price", type="json")]
            ),
            metadata=md,
        )
    assert change.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_details(change.value) == ([], "FIELD_TYPE_CHANGE")

    with pytest.raises(grpc.aio.AioRpcError) as invalid:
        await s.catalog.CreateCatalogDefinition(
            catalog_pb2.CreateCatalogDefinitionRequest(
                project_id="acme",
                catalog=catalog_pb2.CatalogDefinition(name="bad", fields=[catalog_pb2.CatalogField(name="x")]),
            ),
            metadata=md,
        )
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(invalid.value)[0] == ["catalog.fields[0].type"]

    with pytest.raises(grpc.aio.AioRpcError) as other:
        await s.catalog.GetCatalogDefinition(
            catalog_pb2.GetCatalogDefinitionRequest(project_id="acme", catalog_id="shop"),
            metadata=s.metadata("globex"),
        )
    assert other.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_details(other.value) == ([], "PROJECT_NOT_FOUND")


async def test_grpc_list_pages(stack) -> None:
    s, md = stack, stack.metadata()
    for name in ("c", "a", "b"):
        await s.catalog.CreateCatalogDefinition(
            catalog_pb2.CreateCatalogDefinitionRequest(
                project_id="acme", catalog=catalog_pb2.CatalogDefinition(name=name)
            ),
            metadata=md,
        )
    names, token = [], ""
    while True:
        page = await s.catalog.ListCatalogDefinitions(
            catalog_pb2.ListCatalogDefinitionsRequest(project_id="acme", page_size=2, page_token=token), metadata=md
        )
        names += [c.name for c in page.catalogs]
        token = page.next_page_token
        if not token:
            break
    assert names == ["a", "b", "c"]
