"""The batch imports path on the running service, over gRPC: a new catalog version's default batch filled by
one StreamBatchItems call (the synthetic items, then their variants with parentId, ~1,000 a message), then
an ingestion of it with promoteCatalogOnCompletion, polled with GetIngestion until SUCCESS."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from catalogingest.v1 import batch_pb2, batch_pb2_grpc
from service.bench.e2e import CpuMeter, RssSampler, Service
from service.bench.synthetic import BRANDS, COLORS, WORDS, CatalogShape

ENVIRONMENT = "bench-batch"
TENANT = "bench"


@dataclass(frozen=True)
class BatchRun:
    items: int
    variants: int
    stream_seconds: float
    ingestion_seconds: float
    # The ingestion's own `duration` (seconds, measured by the worker inside its task).
    ingestion_duration: float
    upserted: int
    peak_rss: int
    # The CpuMeter reading once the stream had ended (None without a meter).
    streamed_cpu: Any = None

    @property
    def records(self) -> int:
        return self.items + self.variants


def batch_items(shape: CatalogShape) -> Iterator[batch_pb2.BatchItem]:
    """The synthetic catalog as batch items: every item (attributes as the CSV path's columns, but for
    group_ids: a new version holds no item groups, and a link to a missing group is an item error), then
    the variants, each with its item as parentId."""
    for n in range(shape.items):
        word = WORDS[n % len(WORDS)]
        attributes = {
            "name": f"{BRANDS[n % 8]} {word} {n}",
            "url": f"https://shop.example/p/{n}",
            "image_url": f"https://cdn.example/{n}.jpg",
            "description": f"A {word} number {n}",
            "keywords": [word, COLORS[n % 8]],
            "active": True,
            "suggested_score": n % 100,
            "brand": BRANDS[n % 8],
            "color": [COLORS[n % 8], COLORS[(n + 3) % 8]],
        }
        yield batch_pb2.BatchItem(id=f"item-{n}", type="product", attributes_json=orjson.dumps(attributes).decode())
    per_item = shape.variations_per_item
    for n in range(shape.variation_count):
        attributes = {
            "name": f"Variation {n}",
            "url": f"https://shop.example/v/{n}",
            "active": True,
            "size": 36 + n % 12,
        }
        yield batch_pb2.BatchItem(
            id=f"var-{n}",
            type="product",
            parent_id=f"item-{int(n / per_item) if per_item else 0}",
            attributes_json=orjson.dumps(attributes).decode(),
        )


async def _stream(service: Service, batch_id: str, shape: CatalogShape, per_message: int) -> int:
    async def requests() -> AsyncIterator[batch_pb2.StreamBatchItemsRequest]:
        header = batch_pb2.StreamBatchItemsHeader(
            tenant=TENANT, environment=ENVIRONMENT, batch_id=batch_id, operation=batch_pb2.BATCH_OPERATION_ADD
        )
        yield batch_pb2.StreamBatchItemsRequest(header=header)
        chunk: list[batch_pb2.BatchItem] = []
        for item in batch_items(shape):
            chunk.append(item)
            if len(chunk) == per_message:
                yield batch_pb2.StreamBatchItemsRequest(chunk=batch_pb2.BatchItemChunk(items=chunk))
                chunk = []
        if chunk:
            yield batch_pb2.StreamBatchItemsRequest(chunk=batch_pb2.BatchItemChunk(items=chunk))

    stub = batch_pb2_grpc.BatchServiceStub(service.channel)
    response = await stub.StreamBatchItems(requests(), metadata=_metadata(service))
    if response.items_rejected:
        raise RuntimeError(f"the batch stream refused {response.items_rejected} items: {response.errors[:3]}")
    return response.items_accepted


def _metadata(service: Service) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {service.token}"),)


async def _ingest(service: Service, version: str) -> batch_pb2.Ingestion:
    stub = batch_pb2_grpc.BatchServiceStub(service.channel)
    created = await stub.CreateIngestion(
        batch_pb2.CreateIngestionRequest(
            tenant=TENANT, environment=ENVIRONMENT, catalog_version=version, promote_catalog_on_completion=True
        ),
        metadata=_metadata(service),
    )
    request = batch_pb2.GetIngestionRequest(tenant=TENANT, environment=ENVIRONMENT, id=created.id)
    while True:
        ingestion = (await stub.GetIngestion(request, metadata=_metadata(service))).ingestion
        if ingestion.status != batch_pb2.INGESTION_STATUS_RUNNING:
            break
        await asyncio.sleep(0.05)
    if ingestion.status != batch_pb2.INGESTION_STATUS_SUCCESS:
        status = batch_pb2.IngestionStatus.Name(ingestion.status)
        raise RuntimeError(f"the batch ingestion ended {status}: {ingestion.status_reason}")
    return ingestion


async def batch_import(
    service: Service, shape: CatalogShape, meter: CpuMeter | None = None, per_message: int = 1000
) -> BatchRun:
    """Streams `shape` into a new catalog version's batch, then ingests and promotes it; the service's peak RSS
    is sampled over these two steps only."""
    stub = batch_pb2_grpc.BatchServiceStub(service.channel)
    created = await stub.CreateCatalogVersion(
        batch_pb2.CreateCatalogVersionRequest(tenant=TENANT, environment=ENVIRONMENT, create_batch_import=True),
        metadata=_metadata(service),
    )
    version = created.version.version
    with RssSampler(*(p.pid for p in service.processes)) as rss:
        started = time.perf_counter()
        accepted = await _stream(service, created.version.batch_import_id, shape, per_message)
        streamed = time.perf_counter()
        streamed_cpu = await meter.reading() if meter is not None else None
        ingest_started = time.perf_counter()
        ingestion = await _ingest(service, version)
        ingested = time.perf_counter()
        rss.sample()
    records = shape.items + shape.variation_count
    if accepted != records or ingestion.upserted_item_count != records:
        raise RuntimeError(f"expected {records} records, stored {accepted}, ingested {ingestion.upserted_item_count}")
    return BatchRun(
        items=shape.items,
        variants=shape.variation_count,
        stream_seconds=streamed - started,
        ingestion_seconds=ingested - ingest_started,
        ingestion_duration=float(ingestion.duration or 0),
        upserted=ingestion.upserted_item_count,
        peak_rss=rss.peak,
        streamed_cpu=streamed_cpu,
    )
