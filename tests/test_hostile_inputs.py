"""The malformed-input corpus of issue 11 (#4, #5), as REST requests and gRPC calls over real transports.

Each case must get a status under 500 (never INTERNAL or UNKNOWN), a message naming the problem, and
leave the catalog as it was. The Hypothesis strategies that grow this corpus live in tests/fuzz/.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import grpc
import orjson
import pytest

from catalogingest.v1 import batch_pb2, catalog_pb2, record_pb2, task_pb2
from tests.helpers import wait_task

SERVICES = (catalog_pb2, batch_pb2, task_pb2)
UNDECODABLE = {
    "overlong varint": b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
    "length past the end": b"\x0a\x10abc",
}


def token(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


BAD_PAGE_TOKENS = {
    "before is a string": token({"before": "x"}),
    "before is a list": token({"before": []}),
    "before beyond int64": base64.urlsafe_b64encode(b'{"before":99999999999999999999}').decode(),
    "garbage base64": "!!!not*base64",
    "not JSON": base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    "a JSON list": token([1]),
    "id is a number": token({"id": 1, "context": ""}),
    "NUL in a string": token({"id": "a\x00", "context": ""}),
}


def all_methods() -> list[tuple[str, Any]]:
    return [
        (f"/{service.full_name}/{method.name}", method)
        for module in SERVICES
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    ]


async def seed(stack) -> None:
    """One item, so that 'unchanged' means something."""
    written = await stack.catalog.ReplaceRecords(
        catalog_pb2.ReplaceRecordsRequest(
            collection="items", records=[record_pb2.Record(kind=record_pb2.RECORD_KIND_ITEM, id="keep")]
        ),
        metadata=stack.metadata(),
    )
    assert (await wait_task(stack, written.task_id)).status == task_pb2.TASK_STATUS_DONE


async def snapshot(stack) -> tuple[list[str], int]:
    records = await stack.catalog.ListRecords(
        catalog_pb2.ListRecordsRequest(collection="items"), metadata=stack.metadata()
    )
    tasks = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(), metadata=stack.metadata())
    return sorted(r.id for r in records.records), tasks.total_count


async def call_raw(stack, path: str, method: Any, payload: bytes) -> grpc.aio.AioRpcError:
    """Calls `path` with raw bytes as its (every) request message; returns the error it must end with."""
    channel, metadata = stack.channel, stack.metadata()
    try:
        if method.client_streaming:
            requests = iter([payload])
            if method.server_streaming:
                async for _ in channel.stream_stream(path)(requests, metadata=metadata):
                    pass
            else:
                await channel.stream_unary(path)(requests, metadata=metadata)
        elif method.server_streaming:
            async for _ in channel.unary_stream(path)(payload, metadata=metadata):
                pass
        else:
            await channel.unary_unary(path)(payload, metadata=metadata)
    except grpc.aio.AioRpcError as error:
        return error
    raise AssertionError(f"{path} accepted undecodable bytes")


async def test_undecodable_messages_on_every_rpc_are_invalid_argument_without_a_trace(stack, caplog) -> None:
    await seed(stack)
    before = await snapshot(stack)
    caplog.set_level(logging.INFO)
    methods = all_methods()
    for path, method in methods:
        for case, payload in UNDECODABLE.items():
            caplog.clear()
            error = await call_raw(stack, path, method, payload)
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (path, case, error)
            assert f"not a valid {method.input_type.full_name} message" in error.details(), (path, error.details())
            assert not [r for r in caplog.records if r.exc_info], (path, [r.getMessage() for r in caplog.records])
            logged = [r for r in caplog.records if "undecodable" in r.getMessage()]
            assert len(logged) == 1, (path, [r.getMessage() for r in caplog.records])
    assert await snapshot(stack) == before
    assert len(methods) >= 30


async def test_bad_page_tokens_are_invalid_argument_naming_page_token(stack) -> None:
    await seed(stack)
    before = await snapshot(stack)
    calls = {
        "ListTasks": lambda t: stack.tasks.ListTasks(
            task_pb2.ListTasksRequest(page_token=t), metadata=stack.metadata()
        ),
        "ListRecords": lambda t: stack.catalog.ListRecords(
            catalog_pb2.ListRecordsRequest(collection="items", page_token=t), metadata=stack.metadata()
        ),
        "ListCatalogDefinitions": lambda t: stack.catalog.ListCatalogDefinitions(
            catalog_pb2.ListCatalogDefinitionsRequest(project_id="acme", page_token=t), metadata=stack.metadata()
        ),
    }
    for rpc, call in calls.items():
        for case, page_token in BAD_PAGE_TOKENS.items():
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await call(page_token)
            assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (rpc, case, raised.value)
            assert "page_token" in raised.value.details(), (rpc, case, raised.value.details())
    assert await snapshot(stack) == before


NUL = "bad\x00value"


async def test_nul_in_a_query_string_field_is_invalid_argument_naming_it(stack) -> None:
    await seed(stack)
    before = await snapshot(stack)
    md = stack.metadata()
    calls = {
        "section": lambda: stack.tasks.ListTasks(task_pb2.ListTasksRequest(section=NUL), metadata=md),
        "type": lambda: stack.tasks.ListTasks(task_pb2.ListTasksRequest(type=NUL), metadata=md),
        "key": lambda: stack.tasks.GetTask(task_pb2.GetTaskRequest(id=1, key=NUL), metadata=md),
        "environment": lambda: stack.batches.ListBatches(batch_pb2.ListBatchesRequest(environment=NUL), metadata=md),
        "environment[1]": lambda: stack.batches.ListIngestions(
            batch_pb2.ListIngestionsRequest(environment=["ok", NUL]), metadata=md
        ),
        "id[0]": lambda: stack.catalog.ListRecords(
            catalog_pb2.ListRecordsRequest(collection="items", id=[NUL]), metadata=md
        ),
        "collection": lambda: stack.catalog.ListRecords(catalog_pb2.ListRecordsRequest(collection=NUL), metadata=md),
        "header.section": lambda: stack.catalog.UploadCatalog(
            iter([catalog_pb2.UploadCatalogRequest(header=catalog_pb2.UploadCatalogHeader(section=NUL))]),
            metadata=md,
        ),
    }
    for field, call in calls.items():
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call()
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (field, raised.value)
        assert raised.value.details().startswith(f"{field}: must not contain NUL"), (field, raised.value.details())
    assert await snapshot(stack) == before


# ---- REST -------------------------------------------------------------------------------------------

SCOPE = {"tenant": "acme", "environment": "prod"}
BULK = "/data/v2/projects/acme/catalogs/Products/items"
# h11 (uvicorn's HTTP/1.1 parser here) answers a header block over 16 KiB itself.
H11_MAX_HEADER_BYTES = 16 * 1024
PYTHON_REPRS = ("None", "True", "False", "{'", "['", "'x'")


def deep(levels: int, kind: str = "object") -> str:
    """JSON text nested `levels` deep (built as text: Python's own recursion limit is not the test)."""
    if kind == "object":
        return '{"a":' * (levels - 1) + "{}" + "}" * (levels - 1)
    return "[" * levels + "]" * levels


def deep_bodies(levels: int) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, params, body) for every JSON write whose record values may nest."""
    value = deep(levels)
    records = '{"items":[{"id":"x","data":' + value + "}]}"
    bulk = '[{"item_id":"x","properties":' + value + "}]"
    batch = '[{"id":"x","type":"product","attributes":' + value + "}]"
    batch_params = {**SCOPE, "batch_id": "b1"}
    return [
        ("PUT", "/v2/items", {}, records),
        ("PATCH", "/v2/items", {}, records),
        ("DELETE", "/v2/items", {}, records),
        ("PUT", BULK, {}, bulk),
        ("POST", BULK + "/partial-update", {}, bulk),
        ("POST", "/batch-imports/items", batch_params, batch),
        ("PATCH", "/batch-imports/items", batch_params, batch),
        ("POST", "/batch-imports/ingestions", SCOPE, '{"batchImportId":' + deep(levels, "list") + "}"),
        ("POST", "/data/v2/projects/acme/catalogs", {}, '{"name":"c","fields":' + deep(levels, "list") + "}"),
        ("PUT", "/v2/items", {}, deep(levels, "list")),
    ]


async def rest_snapshot(stack) -> tuple[list[str], int]:
    items = await stack.http.get("/v2/items", headers=stack.auth())
    tasks = await stack.http.get("/v1/tasks", headers=stack.auth())
    assert items.status_code == 200 and tasks.status_code == 200, (items.text, tasks.text)
    return sorted(i["id"] for i in items.json()["items"]), tasks.json()["total_count"]


def assert_clear_error(response: Any, status: int, *fragments: str) -> str:
    assert response.status_code == status, (status, response.status_code, response.text[:300])
    assert response.headers.get("content-type") == "application/json", (response.headers, response.text[:300])
    message = response.json()["message"]
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    for python in PYTHON_REPRS:
        assert python not in message, (python, message)
    return message


async def test_json_nested_too_deep_is_a_400_naming_the_depth_limit(http_stack) -> None:
    await seed(http_stack)
    before = await rest_snapshot(http_stack)
    for levels in (65, 255, 1023, 1025, 5000):
        for method, path, params, body in deep_bodies(levels):
            response = await http_stack.http.request(
                method,
                path,
                params=params,
                content=body,
                headers={**http_stack.auth(), "content-type": "application/json"},
            )
            assert_clear_error(response, 400, "nested deeper than 64 levels")
    assert await rest_snapshot(http_stack) == before


async def test_grpc_values_nested_too_deep_are_refused_naming_the_field(stack) -> None:
    await seed(stack)
    before = await snapshot(stack)
    record = record_pb2.Record(kind=record_pb2.RECORD_KIND_ITEM, id="x", data_json=deep(300))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stack.catalog.ReplaceRecords(
            catalog_pb2.ReplaceRecordsRequest(collection="items", records=[record]), metadata=stack.metadata()
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details().startswith("records[0].data: nested deeper than 64 levels"), raised.value.details()

    md = stack.metadata()
    catalog = catalog_pb2.CatalogDefinition(name="shop", fields=[catalog_pb2.CatalogField(name="t", type="string")])
    await stack.catalog.CreateCatalogDefinition(
        catalog_pb2.CreateCatalogDefinitionRequest(project_id="acme", catalog=catalog), metadata=md
    )
    bulk = await stack.catalog.BulkReplaceCatalogItems(
        catalog_pb2.BulkReplaceCatalogItemsRequest(
            project_id="acme",
            catalog_id="shop",
            items=[catalog_pb2.CatalogItem(item_id="x", properties_json='{"t":' + deep(300) + "}")],
        ),
        metadata=md,
    )
    assert not bulk.results[0].success and bulk.task_id == 0, bulk
    assert "nested deeper than 64 levels" in str(bulk.results[0].errors), bulk

    created = await stack.batches.CreateCatalogVersion(
        batch_pb2.CreateCatalogVersionRequest(tenant="acme", environment="prod", create_batch_import=True), metadata=md
    )
    added = await stack.batches.AddBatchItems(
        batch_pb2.AddBatchItemsRequest(
            tenant="acme",
            environment="prod",
            batch_id=created.version.version,
            items=[batch_pb2.BatchItem(id="x", type="product", attributes_json=deep(300))],
        ),
        metadata=md,
    )
    assert added.results[0].code != 0 and "nested deeper than 64 levels" in added.results[0].message, added
    assert await snapshot(stack) == (before[0], before[1])


async def test_bad_page_tokens_on_rest_list_routes_are_400_naming_page_token(http_stack) -> None:
    await seed(http_stack)
    before = await rest_snapshot(http_stack)
    for path in ("/v1/tasks", "/v2/items", "/v2/variations", "/data/v2/projects/acme/catalogs"):
        for page_token in BAD_PAGE_TOKENS.values():
            response = await http_stack.http.get(path, params={"page_token": page_token}, headers=http_stack.auth())
            assert_clear_error(response, 400, "page_token")
    assert await rest_snapshot(http_stack) == before


NUL_QUERIES = [
    ("GET", "/v1/tasks", {"section": "a\x00"}, "section"),
    ("GET", "/v1/tasks", {"type": "catalog_sync\x00"}, "type"),
    ("GET", "/v1/tasks", {"status": "DONE\x00"}, "status"),
    ("GET", "/v1/tasks", {"key": "\x00"}, "key"),
    ("GET", "/v2/items", {"section": "\x00"}, "section"),
    ("GET", "/v2/items", {"id": ["a", "x\x00"]}, "id[1]"),
    ("PUT", "/v1/catalog", {"section": "\x00"}, "section"),
    ("PUT", "/v1/catalog", {"notification_email": "a@b\x00"}, "notification_email"),
    ("GET", "/batch-imports", {"tenant": "acme", "environment": "prod\x00"}, "environment"),
    ("POST", "/batch-imports", {"tenant": "acme", "environment": "\x00"}, "environment"),
    ("POST", "/batch-imports/items", {**SCOPE, "batch_id": "b\x00"}, "batch_id"),
    ("GET", "/batch-imports/ingestions", {"tenant": "acme", "environment": "\x00"}, "environment[0]"),
    ("GET", "/batch-imports/ingestions", {"tenant": "acme", "status": "RUNNING\x00"}, "status"),
    ("GET", "/catalogs", {"tenant": "acme\x00", "environment": "prod"}, "tenant"),
    ("POST", "/catalogs", {**SCOPE, "createBatchImport": "true\x00"}, "createBatchImport"),
    ("GET", "/catalogs/active", {"tenant": "acme", "environment": "\x00"}, "environment"),
    ("GET", "/data/v2/projects/acme/catalogs", {"page_token": "\x00"}, "page_token"),
    ("POST", "/catalogs/activate/v%00", SCOPE, "version"),
    ("GET", "/batch-imports/ingestions/i%00", SCOPE, "id"),
    ("GET", "/data/v2/projects/acme/catalogs/c%00", {}, "catalog_id"),
]


async def test_nul_in_a_query_parameter_or_path_is_a_400_naming_it(http_stack) -> None:
    await seed(http_stack)
    before = await rest_snapshot(http_stack)
    for method, path, params, name in NUL_QUERIES:
        response = await http_stack.http.request(method, path, params=params, json=[], headers=http_stack.auth())
        assert_clear_error(response, 400, f"{name}: must not contain NUL")
    assert await rest_snapshot(http_stack) == before


UNKNOWN_PARAMETER_ROUTES = [
    ("PUT", "/v1/catalog", {"section": "Products"}),
    ("PATCH", "/v1/catalog", {"patch_delta": "true"}),
    ("GET", "/v1/tasks", {"num_results_per_page": "5", "page": "1"}),
    ("GET", "/v1/tasks/1", {}),
    ("GET", "/v2/items", {"section": "Products"}),
    ("PUT", "/v2/items", {"key": "acme"}),
    ("PUT", BULK, {}),
    ("POST", "/batch-imports", SCOPE),
    ("POST", "/batch-imports/items", {**SCOPE, "batch_id": "b1"}),
    ("GET", "/batch-imports/ingestions", SCOPE),
    ("POST", "/catalogs", {**SCOPE, "createBatchImport": "true"}),
    ("GET", "/catalogs/active", SCOPE),
]


async def test_an_unknown_query_parameter_is_a_400_naming_it(http_stack) -> None:
    await seed(http_stack)
    before = await rest_snapshot(http_stack)
    for method, path, params in UNKNOWN_PARAMETER_ROUTES:
        response = await http_stack.http.request(
            method, path, params={**params, "forse": "true"}, json={}, headers=http_stack.auth()
        )
        assert_clear_error(response, 400, "forse: unknown query parameter")
    assert await rest_snapshot(http_stack) == before


async def test_a_multipart_boundary_over_70_characters_is_a_400(http_stack) -> None:
    await seed(http_stack)
    before = await rest_snapshot(http_stack)
    for length in (71, 1000, 100_000):
        boundary = "b" * length
        body = f'--{boundary}\r\nContent-Disposition: form-data; name="items"\r\n\r\nid\nx\r\n--{boundary}--\r\n'
        headers = {**http_stack.auth(), "content-type": f"multipart/form-data; boundary={boundary}"}
        response = await http_stack.http.put("/v1/catalog", content=body.encode(), headers=headers)
        if length > H11_MAX_HEADER_BYTES:
            # uvicorn's HTTP parser refuses the header block itself (its own plain-text 400) before the app.
            assert response.status_code == 400, response.text
            continue
        assert_clear_error(response, 400, f"the multipart boundary is {length} characters; RFC 2046 allows at most 70")
    assert await rest_snapshot(http_stack) == before


BAD_BODY_ROUTES = [
    ("PUT", "/v1/catalog", {}, b"id\nx\n", "text/csv"),
    ("PATCH", "/v1/catalog", {}, b"--x\r\n", "multipart/form-data; boundary=" + "b" * 200),
    ("PUT", "/v2/items", {}, b"not json", "application/json"),
    ("DELETE", "/v2/variations", {}, b"{", "application/json"),
    ("PUT", BULK, {}, b"[1,", "application/json"),
    ("POST", BULK + "/partial-update", {}, b"x" * 100, "text/plain"),
    ("POST", "/data/v2/projects/acme/catalogs", {}, b"{]", "application/json"),
    ("POST", "/batch-imports", SCOPE, b"{", "application/json"),
    ("POST", "/batch-imports/items", {**SCOPE, "batch_id": "b1"}, b"[{", "application/json"),
    ("POST", "/batch-imports/items/delete", {**SCOPE, "batch_id": "b1"}, deep(2000).encode(), "application/json"),
    ("POST", "/batch-imports/ingestions", SCOPE, b"nope", "application/json"),
    ("GET", "/batch-imports", {"forse": "1"}, b"", "application/json"),
    ("POST", "/catalogs", {**SCOPE, "createBatchImport": "maybe"}, b"", "application/json"),
    ("GET", "/catalogs", SCOPE, b"", "application/json"),
    ("DELETE", "/catalogs/1", SCOPE, b"{", "application/json"),
]


async def test_credentials_are_checked_before_the_body_and_content_type(http_stack) -> None:
    await seed(http_stack)
    before = await rest_snapshot(http_stack)
    for authorization in (None, "Bearer cit_not-a-token", "Basic " + base64.b64encode(b"nope:").decode()):
        headers = {"Authorization": authorization} if authorization else {}
        for method, path, params, body, content_type in BAD_BODY_ROUTES:
            response = await http_stack.http.request(
                method, path, params=params, content=body, headers={**headers, "content-type": content_type}
            )
            assert_clear_error(response, 401, "token")
    assert await rest_snapshot(http_stack) == before


async def test_a_long_authorization_header_is_431_from_the_gateway_never_429(http_stack) -> None:
    await seed(http_stack)
    before = await rest_snapshot(http_stack)
    for size in (4097, 8 * 1024, 12 * 1024, 15 * 1024):
        authorization = "Bearer " + "t" * (size - 7)
        for method, path in (("GET", "/v1/tasks"), ("PUT", "/v2/items"), ("PUT", "/v1/catalog")):
            response = await http_stack.http.request(method, path, headers={"Authorization": authorization})
            assert_clear_error(response, 431, "authorization", "at most 4096")
    at_bound = await http_stack.http.get("/v1/tasks", headers={"Authorization": "Bearer " + "t" * 4089})
    assert_clear_error(at_bound, 401, "token")
    assert await rest_snapshot(http_stack) == before


async def test_a_long_token_over_grpc_is_unauthenticated_not_resource_exhausted(stack) -> None:
    for size in (8 * 1024, 16 * 1024, 32 * 1024):
        metadata = (("authorization", "Bearer " + "t" * size),)
        for _ in range(5):  # between gRPC's soft and hard limits the answer used to be random
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await stack.tasks.ListTasks(task_pb2.ListTasksRequest(), metadata=metadata)
            assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED, (size, raised.value)
