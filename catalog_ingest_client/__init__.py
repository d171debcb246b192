"""A Python client of catalog-ingest over gRPC: `Client` (sync) and `AsyncClient` (asyncio).

    from catalog_ingest_client import Client, UploadMode

    with Client("localhost:50051", token=TOKEN) as client:
        reply = client.upload_catalog("Products", items="examples/items.csv", mode=UploadMode.SYNC)
        task = client.wait(reply.task_id, timeout=600)

It needs only the generated `catalogingest` modules and grpcio; none of the server's code.
"""

from catalog_ingest_client.aio import AsyncClient
from catalog_ingest_client.calls import BatchOperation, OnMissing, UploadMode, WriteMode
from catalog_ingest_client.errors import WaitTimeout
from catalog_ingest_client.messages import Progress
from catalog_ingest_client.retry import NO_RETRY, RetryPolicy
from catalog_ingest_client.sync import Client

__all__ = [
    "NO_RETRY",
    "AsyncClient",
    "BatchOperation",
    "Client",
    "OnMissing",
    "Progress",
    "RetryPolicy",
    "UploadMode",
    "WaitTimeout",
    "WriteMode",
]
