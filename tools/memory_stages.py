"""Memory per stage of one maximum-size JSON write, as the gateway and the gRPC server hold it.

    python tools/memory_stages.py records|bulk|batch

Each stage keeps what the code keeps at that point; the RSS it adds (after a collection and malloc_trim)
is printed as a multiple of the body's size: the measurements behind service/inflight.py's multiples.
"""

from __future__ import annotations

import ctypes
import gc
import pathlib
import sys
from collections.abc import Callable
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import orjson
import psutil

from catalogingest.v1 import batch_pb2, catalog_pb2
from gateway.shapes.batch import items_request
from gateway.shapes.bulk_items import bulk_items_request
from gateway.shapes.records import records_request
from service.domain.records import canonical_json, validate_records
from service.tasks.record_writes import encode_chunk
from tests.faults import large_bodies

KINDS: dict[str, tuple[Callable[[], bytes], Callable[[], Any], Callable[[Any, Any], Any]]] = {
    "records": (
        lambda: large_bodies.records_body("r", 10_000_000),
        lambda: catalog_pb2.ReplaceRecordsRequest(collection="items"),
        records_request,
    ),
    "bulk": (
        lambda: large_bodies.bulk_body("b", 10_000_000),
        lambda: catalog_pb2.BulkReplaceCatalogItemsRequest(project_id="p", catalog_id="c"),
        bulk_items_request,
    ),
    "batch": (
        lambda: large_bodies.batch_items_body("i", 10_000_000),
        lambda: batch_pb2.AddBatchItemsRequest(),
        items_request,
    ),
}


def rss() -> int:
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return psutil.Process().memory_info().rss


def main(kind: str) -> None:
    make_body, make_request, bind = KINDS[kind]
    size = len(make_body())
    print(f"{kind}: body {size / 2**20:.1f} MiB")
    base = rss()

    def stage(name: str, make: Callable[[], Any]) -> Any:
        before = rss()
        value = make()
        after = rss()
        print(f"  {name:36s} +{(after - before) / 2**20:6.1f} MiB (x{(after - before) / size:.2f}),"
              f" all held x{(after - base) / size:.2f}")  # fmt: skip
        return value

    raw = stage("gateway: body", make_body)
    parsed = stage("gateway: parsed JSON", lambda raw=raw: orjson.loads(raw))
    del raw  # read_body's bytes die once parsed
    request = make_request()
    stage("gateway: request message", lambda request=request: bind(request, parsed))
    wire = stage("gateway: serialized for the call", request.SerializeToString)
    del parsed  # build_request's body dies when it returns
    copy = stage("gateway: grpc's copy in flight", lambda wire=wire: bytes(bytearray(wire)))
    print(f"  gateway during the call: x{(rss() - base) / size:.2f}")
    del request, copy
    base = rss()
    received = stage("server: received bytes", lambda wire=wire: bytes(bytearray(wire)))
    del wire
    message = stage("server: parsed message", lambda: type(make_request()).FromString(received))
    if kind == "records":
        parsed = stage(
            "server: each record's data parsed",
            lambda: validate_records(message.records, 1, limit=len(message.records)),
        )

        def canonical() -> None:
            for record, data in zip(message.records, parsed, strict=True):
                record.data_json = canonical_json(data)

        stage("server: canonical data set", canonical)
        del parsed
        stage("server: the stored payload", lambda: encode_chunk(list(message.records)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "records")
