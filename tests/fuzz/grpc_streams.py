"""Strategies for the streaming RPCs: WatchTask (server stream), and the client streams StreamRecords,
UploadCatalog and StreamBatchItems with missing, repeated, empty or garbled parts and cancelled midway."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from google.protobuf.message import Message
from hypothesis import strategies as st

from catalogingest.v1 import batch_pb2, catalog_pb2, record_pb2, task_pb2
from tests.fuzz.conftest import LIMITS, Seed
from tests.fuzz.grpc_cases import base_batch_items, base_records
from tests.fuzz.grpc_mutate import REQUEST_WORDS, B, C, T, mutated, request_words, short
from tests.fuzz.grpc_verify import verify_records
from tests.fuzz.oracle import GrpcCase

# --- watching a task: a server stream -----------------------------------------------------------------------


@st.composite
def watch_case(draw: st.DrawFn, seed: Seed) -> GrpcCase:
    request, names = draw(mutated(task_pb2.WatchTaskRequest(id=seed.task_id)))

    async def call(stack: Any) -> Any:
        multi = stack.channel.unary_stream(
            f"/{T}/WatchTask",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=task_pb2.WatchTaskResponse.FromString,
        )
        return [m async for m in multi(request, metadata=stack.metadata(), timeout=10)]

    return GrpcCase(
        "TaskService/WatchTask",
        "hostile " + ",".join(names[2::4]),
        call,
        f"WatchTask({short(request)})",
        names=(*names, *request_words("WatchTask", request.DESCRIPTOR)),
    )


# --- client streams ------------------------------------------------------------------------------------------

STREAM_SHAPES = [
    "well formed",
    "no header",
    "header twice",
    "empty message",
    "header only",
    "cancelled midway",
    "garbage message",
]


def _stream_parts(seed: Seed, method: str, draw: st.DrawFn) -> tuple[list[Message], list[str], Any]:
    if method == "StreamRecords":
        collection = draw(st.sampled_from(["items", "variations", "item_groups"]))
        header = catalog_pb2.StreamRecordsHeader(collection=collection, mode=catalog_pb2.WRITE_MODE_REPLACE)
        header, hnames = draw(mutated(header))
        records = base_records(collection, draw(st.sampled_from([1, 2, LIMITS["max_records_per_call"] + 1])))
        batch, bnames = draw(mutated(record_pb2.RecordBatch(records=records)))
        parts = [catalog_pb2.StreamRecordsRequest(header=header), catalog_pb2.StreamRecordsRequest(batch=batch)]
        verify = None
        if header.mode == catalog_pb2.WRITE_MODE_REPLACE:
            verify = verify_records(
                "REPLACE",
                catalog_pb2.ReplaceRecordsRequest(
                    section=header.section,
                    collection=header.collection,
                    records=batch.records,
                    on_invalid=header.on_invalid,
                    validate_only=header.validate_only,
                ),
            )
        return parts, hnames + bnames, verify
    if method == "UploadCatalog":
        header, hnames = draw(
            mutated(
                catalog_pb2.UploadCatalogHeader(
                    section="csv", mode=catalog_pb2.UPLOAD_MODE_DELTA, files=[record_pb2.RECORD_KIND_ITEM]
                )
            )
        )
        data = draw(
            st.sampled_from(
                [
                    b"id,item_name\r\nu1,U1\r\n",
                    b"id\r\n",
                    b"",
                    b"id,item_name\r\nu\x00,x\r\n",
                    b"id,item_name\r\n\xff\xfe,x\r\n",
                    b'id,item_name\r\n"u1,x\r\n',
                    b"\xef\xbb\xbfid\r\nu2\r\n",
                ]
            )
        )
        chunk, cnames = draw(mutated(catalog_pb2.FileChunk(file=record_pb2.RECORD_KIND_ITEM, data=data)))
        return (
            [catalog_pb2.UploadCatalogRequest(header=header), catalog_pb2.UploadCatalogRequest(chunk=chunk)],
            hnames + cnames + ["items.csv", "row", "column", "file"],
            None,
        )
    header, hnames = draw(
        mutated(
            batch_pb2.StreamBatchItemsHeader(
                tenant="acme",
                environment=seed.environment,
                batch_id=seed.batch_id,
                operation=batch_pb2.BATCH_OPERATION_ADD,
            )
        )
    )
    chunk, cnames = draw(mutated(batch_pb2.BatchItemChunk(items=base_batch_items(seed))))
    return (
        [batch_pb2.StreamBatchItemsRequest(header=header), batch_pb2.StreamBatchItemsRequest(chunk=chunk)],
        hnames + cnames,
        None,
    )


STREAM_TYPES = {
    "StreamRecords": (C, catalog_pb2.StreamRecordsRequest, catalog_pb2.StreamRecordsResponse),
    "UploadCatalog": (C, catalog_pb2.UploadCatalogRequest, catalog_pb2.UploadCatalogResponse),
    "StreamBatchItems": (B, batch_pb2.StreamBatchItemsRequest, batch_pb2.StreamBatchItemsResponse),
}


@st.composite
def stream_case(draw: st.DrawFn, seed: Seed, method: str) -> GrpcCase:
    service, _, response = STREAM_TYPES[method]
    parts, names, verify = _stream_parts(seed, method, draw)
    shape = draw(st.sampled_from(STREAM_SHAPES[:1] * 4 + STREAM_SHAPES[1:]))
    raw: list[bytes] = [p.SerializeToString() for p in parts]
    if shape == "no header":
        raw = raw[1:]
    elif shape == "header twice":
        raw = [raw[0], *raw]
    elif shape == "empty message":
        raw = [raw[0], b"", *raw[1:]]
    elif shape == "header only":
        raw = raw[:1]
    elif shape == "garbage message":
        raw = [raw[0], draw(st.sampled_from([b"\x0a\x05ab", b"\xff\xff\xff", b"\x12\x02\xff\xfe"])), *raw[1:]]
    if shape != "well formed":
        verify = None

    async def call(stack: Any) -> Any:
        multi = stack.channel.stream_unary(
            f"/{service}/{method}", request_serializer=None, response_deserializer=response.FromString
        )
        if shape != "cancelled midway":
            return await multi(iter(raw), metadata=stack.metadata(), timeout=30)

        sent = asyncio.Event()

        async def messages() -> Any:
            for message in raw:
                yield message
            sent.set()
            await asyncio.Event().wait()  # never half-closes: the client cancels instead

        running = multi(messages(), metadata=stack.metadata(), timeout=30)
        await sent.wait()
        running.cancel()
        try:
            return await running
        except asyncio.CancelledError:
            metadata = grpc.aio.Metadata()
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.CANCELLED, metadata, metadata, "cancelled by the client"
            ) from None

    shown = f"{method}[{shape}]({', '.join(short(p) for p in parts)})"
    return GrpcCase(
        f"{service.split('.')[-1]}/{method}",
        f"{shape} " + ",".join(sorted(set(names[2::4]))),
        call,
        shown,
        names=(
            *names,
            *REQUEST_WORDS,
            *request_words(method, parts[0].DESCRIPTOR),
            *request_words(method, parts[0].header.DESCRIPTOR),
            "cancel",
            "records",
            "item",
            "limit",
        ),
        verify=verify,
        writes=True,
    )
