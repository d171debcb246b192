"""The error interceptor wraps every handler kind: a domain error raised inside becomes its gRPC status with an
ErrorInfo naming the reason, whether the call is unary or streams requests, responses or both.

The catalogingest protos have no stream-stream RPC yet, so the first tests use the real RPCs of the three kinds
that exist, and the probe tests register one handler of each of the four kinds (stream-stream included) on a
real grpc.aio server with the service's interceptor, called over a channel.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from service.auth import Authenticator, create_token
from service.db.engine import create_engine, session_factory
from service.db.migrate import upgrade
from service.error_reasons import ErrorReason
from service.errors import NotFound
from service.interceptors import ServiceInterceptor
from tests.helpers import error_details

PROBE = "catalogingest.v1.InterceptorProbe"


async def test_unary_unary_rpc(stack: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.tasks.GetTask(task_pb2.GetTaskRequest(id=987654), metadata=stack.metadata())
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_details(caught.value) == ([], "TASK_NOT_FOUND")


async def test_unary_stream_rpc(stack: Any) -> None:
    call = stack.tasks.WatchTask(task_pb2.WatchTaskRequest(id=987654), metadata=stack.metadata())
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in call:
            pass
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_details(caught.value) == ([], "TASK_NOT_FOUND")


async def test_stream_unary_rpc(stack: Any) -> None:
    batch = catalog_pb2.StreamRecordsRequest(batch=record_pb2.RecordBatch(records=[record_pb2.Record(id="a")]))

    async def requests() -> AsyncIterator[catalog_pb2.StreamRecordsRequest]:
        yield batch

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.catalog.StreamRecords(requests(), metadata=stack.metadata())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(caught.value) == (["header"], "STREAM_HEADER_REQUIRED")


def _missing() -> NotFound:
    return NotFound("probe 42 not found", reason=ErrorReason.TASK_NOT_FOUND, metadata={"probe": "42"})


async def _unary_unary(request: empty_pb2.Empty, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
    raise _missing()


async def _unary_stream(request: empty_pb2.Empty, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
    yield empty_pb2.Empty()  # the error comes after a response was sent
    raise _missing()


async def _stream_unary(requests: AsyncIterator[empty_pb2.Empty], context: grpc.aio.ServicerContext) -> Any:
    async for _ in requests:
        pass
    raise _missing()


async def _stream_stream(requests: AsyncIterator[empty_pb2.Empty], context: grpc.aio.ServicerContext) -> Any:
    async for _ in requests:
        yield empty_pb2.Empty()
    raise _missing()


def _probe_handler() -> grpc.GenericRpcHandler:
    codec = {
        "request_deserializer": empty_pb2.Empty.FromString,
        "response_serializer": empty_pb2.Empty.SerializeToString,
    }
    return grpc.method_handlers_generic_handler(
        PROBE,
        {
            "UnaryUnary": grpc.unary_unary_rpc_method_handler(_unary_unary, **codec),
            "UnaryStream": grpc.unary_stream_rpc_method_handler(_unary_stream, **codec),
            "StreamUnary": grpc.stream_unary_rpc_method_handler(_stream_unary, **codec),
            "StreamStream": grpc.stream_stream_rpc_method_handler(_stream_stream, **codec),
        },
    )


@pytest.fixture
async def probe(database_url: str) -> AsyncIterator[tuple[grpc.aio.Channel, str]]:
    """A real server with only the service's interceptor and the probe handlers; a channel and a token."""
    engine = create_engine(database_url)
    await upgrade(engine)
    sessions = session_factory(engine)
    async with sessions() as session:
        token = await create_token(session, "acme")
        await session.commit()
    server = grpc.aio.server(interceptors=[ServiceInterceptor(Authenticator(sessions))])
    server.add_generic_rpc_handlers([_probe_handler()])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield channel, token
    finally:
        await channel.close()
        await server.stop(None)
        await engine.dispose()


def _messages(count: int) -> Iterator[empty_pb2.Empty]:
    yield from (empty_pb2.Empty() for _ in range(count))


async def _call(
    channel: grpc.aio.Channel,
    kind: str,
    metadata: tuple[tuple[str, str], ...],
    received: list[Any],
    messages: int = 2,
) -> None:
    """Calls the probe method of one kind, keeping in `received` the responses that arrive before the error."""
    path = f"/{PROBE}/{kind}"
    codec = {
        "request_serializer": empty_pb2.Empty.SerializeToString,
        "response_deserializer": empty_pb2.Empty.FromString,
    }
    if kind == "UnaryUnary":
        received.append(await channel.unary_unary(path, **codec)(empty_pb2.Empty(), metadata=metadata))
    elif kind == "UnaryStream":
        async for response in channel.unary_stream(path, **codec)(empty_pb2.Empty(), metadata=metadata):
            received.append(response)
    elif kind == "StreamUnary":
        received.append(await channel.stream_unary(path, **codec)(_messages(messages), metadata=metadata))
    else:
        async for response in channel.stream_stream(path, **codec)(_messages(messages), metadata=metadata):
            received.append(response)


KINDS_AND_RESPONSES_BEFORE_THE_ERROR = [("UnaryUnary", 0), ("UnaryStream", 1), ("StreamUnary", 0), ("StreamStream", 2)]


@pytest.mark.parametrize(("kind", "responses"), KINDS_AND_RESPONSES_BEFORE_THE_ERROR)
async def test_probe_domain_error_becomes_its_status(
    probe: tuple[grpc.aio.Channel, str], kind: str, responses: int
) -> None:
    channel, token = probe
    received: list[Any] = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(channel, kind, (("authorization", f"Bearer {token}"),), received)
    assert len(received) == responses
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert caught.value.details() == "probe 42 not found"
    assert error_details(caught.value) == ([], "TASK_NOT_FOUND")


@pytest.mark.parametrize("kind", [k for k, _ in KINDS_AND_RESPONSES_BEFORE_THE_ERROR])
async def test_probe_without_a_token_is_unauthenticated(probe: tuple[grpc.aio.Channel, str], kind: str) -> None:
    channel, _ = probe
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        # No request messages: a client still writing when the server refuses the call may see INTERNAL "Internal
        # error from Core" instead of the status (grpc/grpc#36066, see the README).
        await _call(channel, kind, (), [], messages=0)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_details(caught.value) == ([], "UNAUTHENTICATED")
