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
