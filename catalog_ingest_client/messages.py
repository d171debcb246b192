"""Request messages the client sends: records and batch items from plain dicts, and the messages of
each client stream (a header, then ~1 MiB of CSV or ~1,000 records / items a message)."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from catalogingest.v1 import batch_pb2, catalog_pb2, record_pb2

CHUNK_BYTES = 1024 * 1024
BATCH_RECORDS = 1000
COLLECTION_KINDS = {
    "items": record_pb2.RECORD_KIND_ITEM,
    "variations": record_pb2.RECORD_KIND_VARIATION,
    "item_groups": record_pb2.RECORD_KIND_ITEM_GROUP,
}
# The CSV files of an upload, named as the REST multipart fields are.
FILE_KINDS = COLLECTION_KINDS

FileSource = str | os.PathLike[str] | IO[bytes] | bytes
RecordLike = record_pb2.Record | Mapping[str, Any]
BatchItemLike = batch_pb2.BatchItem | Mapping[str, Any]


@dataclass
class Progress:
    """What a streaming upload has handed to gRPC so far. `bytes_total` is None when a source has no size."""

    bytes_sent: int = 0
    bytes_total: int | None = None
    items_sent: int = 0
    messages_sent: int = 0


ProgressCallback = Callable[[Progress], None]


def record(obj: RecordLike, kind: int) -> record_pb2.Record:
    """A Record from the JSON shape of the `/v2` API: id, name, suggested_score, item_id, parent_ids, data,
    context, timestamp (RFC 3339)."""
    if isinstance(obj, record_pb2.Record):
        if not obj.kind:
            copy = record_pb2.Record()
            copy.CopyFrom(obj)
            copy.kind = kind
            return copy
        return obj
    message = record_pb2.Record(kind=kind, id=str(obj["id"]), context=obj.get("context") or "")
    for key in ("name", "item_id"):
        if obj.get(key) is not None:
            setattr(message, key, obj[key])
    if obj.get("suggested_score") is not None:
        message.suggested_score = float(obj["suggested_score"])
    message.parent_ids.extend(obj.get("parent_ids") or ())
    if obj.get("data") is not None:
        message.data_json = json.dumps(obj["data"])
    if obj.get("timestamp"):
        message.timestamp.FromJsonString(obj["timestamp"])
    return message


def batch_item(obj: BatchItemLike) -> batch_pb2.BatchItem:
    """A BatchItem from the batch imports JSON: id, type, context, timestamp, parentId, attributes."""
    if isinstance(obj, batch_pb2.BatchItem):
        return obj
    item = batch_pb2.BatchItem(
        id=obj.get("id", ""),
        type=obj.get("type", ""),
        context=obj.get("context", ""),
        timestamp=obj.get("timestamp", ""),
    )
    if obj.get("parentId") is not None:
        item.parent_id = obj["parentId"]
    if obj.get("attributes") is not None:
        item.attributes_json = json.dumps(obj["attributes"])
    return item


def source_size(source: FileSource) -> int | None:
    """The bytes a source will yield from where it stands, when that can be known without reading it."""
    if isinstance(source, bytes):
        return len(source)
    if isinstance(source, str | os.PathLike):
        return Path(source).stat().st_size
    try:
        if source.seekable():
            here = source.tell()
            end = source.seek(0, io.SEEK_END)
            source.seek(here)
            return end - here
    except (OSError, AttributeError, io.UnsupportedOperation):
        pass
    return None


def read_chunks(source: FileSource, chunk_bytes: int) -> Iterator[bytes]:
    if isinstance(source, bytes):
        for start in range(0, len(source), chunk_bytes):
            yield source[start : start + chunk_bytes]
        return
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as handle:
            yield from read_chunks(handle, chunk_bytes)
        return
    while chunk := source.read(chunk_bytes):
        yield chunk


def upload_catalog_requests(
    header: catalog_pb2.UploadCatalogHeader,
    files: Mapping[str, FileSource],
    *,
    chunk_bytes: int = CHUNK_BYTES,
    on_progress: ProgressCallback | None = None,
) -> Iterator[catalog_pb2.UploadCatalogRequest]:
    """The header (declaring every file, so an empty file is an empty file), then each file in chunks."""
    kinds = {name: FILE_KINDS[name] for name in files}
    header.files[:] = list(kinds.values())
    sizes = [source_size(source) for source in files.values()]
    progress = Progress(bytes_total=None if None in sizes else sum(s or 0 for s in sizes))
    yield catalog_pb2.UploadCatalogRequest(header=header)
    for name, source in files.items():
        for data in read_chunks(source, chunk_bytes):
            yield catalog_pb2.UploadCatalogRequest(chunk=catalog_pb2.FileChunk(file=kinds[name], data=data))
            progress.bytes_sent += len(data)
            progress.messages_sent += 1
            if on_progress is not None:
                on_progress(progress)


def _batched(values: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def stream_records_requests(
    header: catalog_pb2.StreamRecordsHeader,
    records: Iterable[RecordLike],
    *,
    batch_size: int = BATCH_RECORDS,
    on_progress: ProgressCallback | None = None,
) -> Iterator[catalog_pb2.StreamRecordsRequest]:
    kind = COLLECTION_KINDS.get(header.collection, record_pb2.RECORD_KIND_UNSPECIFIED)
    progress = Progress()
    yield catalog_pb2.StreamRecordsRequest(header=header)
    for chunk in _batched(records, batch_size):
        message = catalog_pb2.StreamRecordsRequest(
            batch=record_pb2.RecordBatch(records=[record(r, kind) for r in chunk])
        )
        yield message
        progress.bytes_sent += message.ByteSize()
        progress.items_sent += len(chunk)
        progress.messages_sent += 1
        if on_progress is not None:
            on_progress(progress)


def stream_batch_items_requests(
    header: batch_pb2.StreamBatchItemsHeader,
    items: Iterable[BatchItemLike],
    *,
    batch_size: int = BATCH_RECORDS,
    on_progress: ProgressCallback | None = None,
) -> Iterator[batch_pb2.StreamBatchItemsRequest]:
    progress = Progress()
    yield batch_pb2.StreamBatchItemsRequest(header=header)
    for chunk in _batched(items, batch_size):
        message = batch_pb2.StreamBatchItemsRequest(
            chunk=batch_pb2.BatchItemChunk(items=[batch_item(i) for i in chunk])
        )
        yield message
        progress.bytes_sent += message.ByteSize()
        progress.items_sent += len(chunk)
        progress.messages_sent += 1
        if on_progress is not None:
            on_progress(progress)
