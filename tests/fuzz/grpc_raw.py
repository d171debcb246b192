"""Undecodable bytes for every RPC, sent over a real channel without a serializer."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from catalogingest.v1 import batch_pb2, catalog_pb2, task_pb2
from tests.fuzz.grpc_mutate import REQUEST_WORDS, request_words
from tests.fuzz.oracle import GrpcCase

GARBAGE = [
    b"\x08",  # a varint tag with no value
    b"\x0a\x05ab",  # a string field shorter than its length
    b"\x0a\x02\xff\xfe",  # field 1 (a string in most requests) that is not UTF-8
    b"\x12\x02\xc3\x28",
    b"\x1a\x03\xed\xa0\x80",  # field 3: a UTF-8-encoded lone surrogate
    b"\x0f",  # wire type 7 does not exist
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",  # a varint longer than 10 bytes
    b"\x22\x80\x80\x80\x80\x10",  # a length beyond the message
    b"\x00",  # field number 0
    b"\x0b\x0c",  # a group
]


def all_methods() -> list[tuple[str, str, str]]:
    """(service, method, kind) for every RPC, from the descriptors."""
    out = []
    for module, name in ((catalog_pb2, "CatalogService"), (task_pb2, "TaskService"), (batch_pb2, "BatchService")):
        service = module.DESCRIPTOR.services_by_name[name]
        for method in service.methods:
            kind = (
                "stream_unary"
                if method.client_streaming
                else "unary_stream"
                if method.server_streaming
                else "unary_unary"
            )
            out.append((service.full_name, method.name, kind))
    return out


@st.composite
def raw_case(draw: st.DrawFn) -> GrpcCase:
    service, method, kind = draw(st.sampled_from(all_methods()))
    payload = draw(st.one_of(st.sampled_from(GARBAGE), st.binary(min_size=1, max_size=64)))

    async def call(stack: Any) -> Any:
        path = f"/{service}/{method}"
        if kind == "unary_unary":
            return await stack.channel.unary_unary(path, request_serializer=None, response_deserializer=None)(
                payload, metadata=stack.metadata(), timeout=10
            )
        if kind == "unary_stream":
            multi = stack.channel.unary_stream(path, request_serializer=None, response_deserializer=None)
            return [m async for m in multi(payload, metadata=stack.metadata(), timeout=10)]
        multi = stack.channel.stream_unary(path, request_serializer=None, response_deserializer=None)
        return await multi(iter([payload]), metadata=stack.metadata(), timeout=10)

    return GrpcCase(
        f"{service.split('.')[-1]}/{method} (raw bytes)",
        "undecodable bytes" if payload in GARBAGE else "random bytes",
        call,
        f"{method} bytes {payload[:64]!r}",
        names=(*REQUEST_WORDS, *request_words(method, _request_descriptor(service, method))),
        writes=True,
    )


def _request_descriptor(service: str, method: str) -> Any:
    for module in (catalog_pb2, task_pb2, batch_pb2):
        for svc in module.DESCRIPTOR.services_by_name.values():
            if svc.full_name == service:
                return svc.methods_by_name[method].input_type
    raise KeyError(method)
