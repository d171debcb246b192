"""The real ASGI app calling a real grpc.aio server over its channel: what an HTTP client sees."""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from gateway import create_app
from gateway.metadata import grpc_metadata
from gateway.responses import json_response, render
from gateway.runtime import runtime_of
from tests.gateway.fakes import FakeServer, GatewayTestSettings, rich_status

Code = grpc.StatusCode


async def test_get_task_on_both_paths_forwards_headers(client: httpx.AsyncClient, fake_server: FakeServer) -> None:
    basic = "Basic " + base64.b64encode(b"secret-token:").decode()
    for path in ("/v1/tasks/7", "/v1/task/7"):
        response = await client.get(path, headers={"Authorization": basic, "Idempotency-Key": "k-1"})
        assert response.status_code == 200
        body = response.json()
        assert (body["id"], body["status"], body["progress"]["records_seen"]) == (7, "DONE", 3)
        assert body["submission_time"] == "2024-09-05T10:50:42Z"
        sent = fake_server.recorder.metadata[-1]
        assert sent["authorization"] == basic
        assert sent["idempotency-key"] == "k-1"
        assert sent["x-request-id"] == response.headers["x-request-id"] != ""


async def test_request_id_is_kept_when_given(client: httpx.AsyncClient, fake_server: FakeServer) -> None:
    response = await client.get("/v1/tasks/1", headers={"X-Request-Id": "req-42", "Authorization": "Bearer t"})
    assert response.headers["x-request-id"] == "req-42"
    assert fake_server.recorder.metadata[-1]["x-request-id"] == "req-42"
    assert fake_server.recorder.metadata[-1]["authorization"] == "Bearer t"


async def test_list_tasks_binds_query(client: httpx.AsyncClient, fake_server: FakeServer) -> None:
    response = await client.get(
        "/v1/tasks",
        params={
            "key": "acme",
            "status": "done",
            "submitted_after": "2024-01-01T00:00:00Z",
            "num_results_per_page": 5,
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["total_count"], body["status_counts"], body["next_page_token"]) == (2, {"DONE": 2}, "")
    assert [t["id"] for t in body["tasks"]] == [2, 1]
    request = fake_server.recorder.last("ListTasks")
    assert (request.key, request.status, request.num_results_per_page) == (
        "acme",
        task_pb2.TASK_STATUS_DONE,
        5,
    )
    assert request.submitted_after.ToJsonString() == "2024-01-01T00:00:00Z"


async def test_bad_query_value_is_400_and_the_server_is_not_called(
    client: httpx.AsyncClient, fake_server: FakeServer
) -> None:
    response = await client.get("/v1/tasks?status=SOMETIMES")
    assert response.status_code == 400
    assert response.json()["field_violations"][0]["field"] == "status"
    assert fake_server.recorder.requests == []


async def test_cancel_verb_route(client: httpx.AsyncClient, fake_server: FakeServer) -> None:
    response = await client.post("/v1/tasks/12:cancel")
    assert response.status_code == 200
    assert response.json() == {"id": 12, "type": "", "status": "CANCELED", "section": "", "attempts": 0}
    assert fake_server.recorder.last("CancelTask").id == 12


@pytest.mark.parametrize(
    ("code", "reason", "metadata", "http", "headers"),
    [
        (Code.FAILED_PRECONDITION, "TASK_STARTED", {}, 400, {}),
        (Code.NOT_FOUND, "NOT_FOUND", {}, 404, {}),
        (Code.UNAUTHENTICATED, "UNAUTHENTICATED", {}, 401, {}),
        (Code.RESOURCE_EXHAUSTED, "RATE_LIMITED", {"retry_after_seconds": "3"}, 429, {"retry-after": "3"}),
    ],
)
async def test_errors_from_an_aborted_call(
    client: httpx.AsyncClient,
    fake_server: FakeServer,
    code: grpc.StatusCode,
    reason: str,
    metadata: dict[str, str],
    http: int,
    headers: dict[str, str],
) -> None:
    fake_server.recorder.fail_with = rich_status(code, "it went wrong", reason=reason, metadata=metadata)
    response = await client.post("/v1/tasks/12:cancel")
    assert response.status_code == http
    assert response.json() == {"message": "it went wrong", "code": code.name, "reason": reason}
    for name, value in headers.items():
        assert response.headers[name] == value
    assert response.headers["x-request-id"]


async def test_ingestion_status(client: httpx.AsyncClient, fake_server: FakeServer) -> None:
    response = await client.get("/status/ingestion")
    assert (response.status_code, response.json()) == (200, {"message": "OK"})
    fake_server.recorder.fail_with = rich_status(Code.UNAVAILABLE, "no live worker", reason="NO_WORKER")
    response = await client.get("/status/ingestion")
    assert (response.status_code, response.json()) == (503, {"message": "no live worker"})


def _closed_port_target() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


async def test_dead_server_is_503(running_gateway: Callable[..., Any]) -> None:
    _, client = await running_gateway(GatewayTestSettings(_closed_port_target()))
    response = await client.get("/v1/tasks/1")
    assert response.status_code == 503
    assert response.json()["code"] == "UNAVAILABLE"
    assert response.headers["Retry-After"] == "1"
    response = await client.get("/status/ingestion")
    assert response.status_code == 503
    assert list(response.json()) == ["message"]


async def test_put_items(client: httpx.AsyncClient, fake_server: FakeServer) -> None:
    items = [
        {"id": "i1", "name": "Shoe", "suggested_score": 10, "data": {"url": "/i1", "price": 9.5}},
        {"id": "i2", "data": {}},
    ]
    response = await client.put(
        "/v2/items?key=acme&section=Products&force=True&notification_email=a@b.c", json={"items": items}
    )
    assert response.status_code == 200
    assert response.text == '{"task_id":1,"task_status_path":"/v1/task/1"}'
    request = fake_server.recorder.last("ReplaceRecords")
    assert (request.collection, request.key, request.section, request.force) == (
        "items",
        "acme",
        "Products",
        True,
    )
    assert request.notification_email == "a@b.c"
    assert [(r.kind, r.id) for r in request.records] == [(record_pb2.RECORD_KIND_ITEM, "i1"), (1, "i2")]
    assert request.records[0].data_json == '{"url":"/i1","price":9.5}'


async def test_patch_and_delete(client: httpx.AsyncClient, fake_server: FakeServer) -> None:
    response = await client.patch(
        "/v2/variations?on_missing=IGNORE",
        json={"variations": [{"id": "v", "item_id": "i", "data": {"s": 1}}]},
    )
    assert response.json() == {"task_id": 2, "task_status_path": "/v1/task/2"}
    assert fake_server.recorder.last("UpdateRecords").on_missing == catalog_pb2.ON_MISSING_IGNORE
    response = await client.request("DELETE", "/v2/item_groups", json={"item_groups": [{"id": "g"}]})
    assert response.json() == {"task_id": 3, "task_status_path": "/v1/task/3"}
    assert fake_server.recorder.last("DeleteRecords").records[0].kind == record_pb2.RECORD_KIND_ITEM_GROUP


async def test_malformed_records_are_400_before_the_server(client: httpx.AsyncClient, fake_server: FakeServer) -> None:
    body = {"items": [{"id": "a"}, {"id": "b"}, {"id": "c"}, {"data": {}}]}
    response = await client.put("/v2/items", json=body)
    assert response.status_code == 400
    assert response.json()["message"] == "items[3].id: required"
    assert fake_server.recorder.requests == []


async def test_server_violations_name_the_collection(client: httpx.AsyncClient, fake_server: FakeServer) -> None:
    fake_server.recorder.fail_with = rich_status(
        Code.INVALID_ARGUMENT,
        "records[0].item_id: required for a variation",
        reason="INVALID_RECORD",
        violations=[("records[0].item_id", "required for a variation")],
    )
    response = await client.put("/v2/variations", json={"variations": [{"id": "v"}]})
    assert response.status_code == 400
    assert response.json() == {
        "message": "variations[0].item_id: required for a variation",
        "code": "INVALID_ARGUMENT",
        "reason": "INVALID_RECORD",
        "field_violations": [{"field": "variations[0].item_id", "description": "required for a variation"}],
    }


async def test_list_records(client: httpx.AsyncClient, fake_server: FakeServer) -> None:
    response = await client.get("/v2/items?key=acme&id=a&id=b&num_results_per_page=10&page=1")
    assert response.json() == {
        "items": [{"id": "a", "name": None, "data": {"n": 1}}, {"id": "b", "name": None, "data": {"n": 1}}],
        "total_count": 2,
    }
    assert list(fake_server.recorder.last("ListRecords").id) == ["a", "b"]


async def test_batches_are_camel_case(client: httpx.AsyncClient, fake_server: FakeServer) -> None:
    response = await client.post("/batch-imports?tenant=t&environment=e")
    assert response.json() == {"id": "batch-1"}
    assert fake_server.recorder.last("CreateBatch").environment == "e"
    response = await client.get("/batch-imports?tenant=t&environment=e")
    assert response.json() == [
        {"id": "batch-1", "createdAt": "2024-09-05T10:50:42Z", "expiresAt": "2024-09-12T10:50:42Z"}
    ]


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient, fake_server: FakeServer) -> None:
    big = {"items": [{"id": str(i), "data": {"pad": "x" * 1000}} for i in range(100)]}
    response = await client.put("/v2/items", json=big)
    assert response.status_code == 413
    assert response.json()["code"] == "RESOURCE_EXHAUSTED"

    sent = []

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the stream itself must be cut off
        for i in range(1000):
            sent.append(i)
            yield b'{"id": "%d", "data": {"pad": "%s"}},' % (i, b"x" * 1000)

    response = await client.put("/v2/items", content=chunks())
    assert response.status_code == 413
    assert len(sent) < 100  # reading stopped at the limit (64 KiB), not at the end of the body
    assert fake_server.recorder.requests == []


@pytest.mark.parametrize("content", [b"not json", b'{"items": [', b"items=1"])
async def test_non_json_body_is_400(client: httpx.AsyncClient, content: bytes) -> None:
    response = await client.put("/v2/items", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_ARGUMENT"


async def test_unknown_path_and_wrong_method(client: httpx.AsyncClient) -> None:
    response = await client.get("/v9/nothing")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
    assert response.json()["message"].startswith("no route for GET /v9/nothing")
    response = await client.post("/v2/items")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PATCH, PUT"
    assert response.json()["code"] == "UNIMPLEMENTED"


async def test_extra_routes_come_first_and_share_the_channel(
    fake_server: FakeServer, running_gateway: Callable[..., Any]
) -> None:
    async def upload(request: Request) -> Response:
        method = task_pb2.DESCRIPTOR.services_by_name["TaskService"].methods_by_name["GetIngestionStatus"]
        reply = await runtime_of(request).unary(method)(
            task_pb2.GetIngestionStatusRequest(), metadata=grpc_metadata(request)
        )
        return json_response({"custom": True, **render(reply)})

    routes = [Route("/v1/catalog", upload, methods=["PUT"]), Route("/v1/tasks", upload, methods=["GET"])]
    _, client = await running_gateway(GatewayTestSettings(fake_server.target), extra_routes=routes)
    for method, path in (("PUT", "/v1/catalog"), ("GET", "/v1/tasks")):
        response = await client.request(method, path, headers={"Authorization": "Bearer t"})
        assert response.json() == {"custom": True, "message": "OK"}
        assert fake_server.recorder.metadata[-1]["authorization"] == "Bearer t"
    assert response.headers["x-request-id"]


async def test_lifespan_opens_and_closes_one_channel(fake_server: FakeServer) -> None:
    app = create_app(GatewayTestSettings(fake_server.target))
    async with app.router.lifespan_context(app):
        runtime = app.state.gateway
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            assert (await client.get("/status/ingestion")).status_code == 200
            assert (await client.get("/v1/tasks/1", headers={"Authorization": "Bearer t"})).status_code == 200
    assert app.state.gateway is None
    method = task_pb2.DESCRIPTOR.services_by_name["TaskService"].methods_by_name["GetIngestionStatus"]
    with pytest.raises(grpc.aio.UsageError):
        await runtime.unary(method)(task_pb2.GetIngestionStatusRequest())
