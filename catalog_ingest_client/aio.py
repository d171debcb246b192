"""The asyncio client: `AsyncClient("localhost:50051", token=...)`, the same methods as `Client`, awaited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import grpc

from catalog_ingest_client import calls, messages
from catalog_ingest_client.calls import BatchOperation, Call, OnMissing, UploadMode, WriteMode
from catalog_ingest_client.channels import DEFAULT_TARGET, aio_channel, credentials, response_class
from catalog_ingest_client.errors import WaitTimeout, stream_refusal
from catalog_ingest_client.messages import BatchItemLike, FileSource, ProgressCallback, RecordLike
from catalog_ingest_client.retry import RetryPolicy, delay_before_retry
from catalog_ingest_client.sync import _files
from catalogingest.v1 import batch_pb2, catalog_pb2, task_pb2

TaskCallback = Callable[[task_pb2.Task], None]


class AsyncClient:
    """See `catalog_ingest_client.Client`; every method is a coroutine (`watch` an async iterator)."""

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        token: str | None = None,
        *,
        tls: bool = False,
        root_certificates: bytes | str | Path | None = None,
        timeout: float | None = 30.0,
        retry: RetryPolicy | None = None,
        channel: grpc.aio.Channel | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._own_channel = channel is None
        self.channel = channel or aio_channel(target, credentials(tls, root_certificates))
        self.auth = calls.auth_metadata(token)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._sleep = sleep

    async def close(self) -> None:
        if self._own_channel:
            await self.channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _unary(self, call: Call, timeout: float | None = None) -> Any:
        invoke = self.channel.unary_unary(
            call.path,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_class(call.service, call.method).FromString,
        )
        attempt = 0
        while True:
            attempt += 1
            try:
                return await invoke(call.request, metadata=call.metadata(self.auth), timeout=timeout or self.timeout)
            except grpc.RpcError as error:
                delay = delay_before_retry(
                    error, call.path, attempt, self.retry, idempotency_key=bool(call.idempotency_key)
                )
                if delay is None:
                    raise
                await self._sleep(delay)

    async def _client_stream(self, call: Call, requests: Callable[[], Iterator[Any]], *, repeatable: bool) -> Any:
        invoke = self.channel.stream_unary(
            call.path,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_class(call.service, call.method).FromString,
        )
        attempt = 0
        while True:
            attempt += 1
            try:
                return await invoke(_paced(requests()), metadata=call.metadata(self.auth))
            except grpc.aio.AioRpcError as raised:
                error = stream_refusal(raised)
                delay = delay_before_retry(
                    error, call.path, attempt, self.retry, idempotency_key=bool(call.idempotency_key)
                )
                if delay is None or not repeatable:
                    if error is raised:
                        raise
                    raise error from None
                await self._sleep(delay)

    async def get_task(self, task_id: int) -> task_pb2.Task:
        return (await self._unary(calls.get_task(task_id))).task

    async def list_tasks(self, **filters: Any) -> task_pb2.ListTasksResponse:
        return await self._unary(calls.list_tasks(**filters))

    async def cancel_task(self, task_id: int) -> task_pb2.Task:
        return (await self._unary(calls.cancel_task(task_id))).task

    async def ingestion_status(self) -> str:
        return (await self._unary(calls.ingestion_status())).message

    async def watch(self, task_id: int, *, timeout: float | None = None) -> AsyncIterator[task_pb2.Task]:
        call = calls.watch_task(task_id)
        invoke = self.channel.unary_stream(
            call.path,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=task_pb2.WatchTaskResponse.FromString,
        )
        deadline = None if timeout is None else time.monotonic() + timeout
        last: task_pb2.Task | None = None
        attempt = 0
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise WaitTimeout(task_id, timeout or 0, last)
            try:
                async for response in invoke(call.request, metadata=call.metadata(self.auth), timeout=remaining):
                    attempt = 0
                    last = response.task
                    yield last
                    if last.status in calls.FINAL_STATUSES:
                        return
            except grpc.RpcError as error:
                if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED and deadline is not None:
                    raise WaitTimeout(task_id, timeout or 0, last) from error
                attempt += 1
                delay = delay_before_retry(error, call.path, attempt, self.retry, idempotency_key=False)
                if delay is None:
                    raise
                await self._sleep(delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic())))
            else:
                attempt += 1
                if attempt >= self.retry.max_attempts:
                    raise ConnectionError(f"WatchTask for task {task_id} keeps ending before the task does")

    async def wait(
        self, task_id: int, *, timeout: float | None = None, on_update: TaskCallback | None = None
    ) -> task_pb2.Task:
        last = None
        async for last in self.watch(task_id, timeout=timeout):
            if on_update is not None:
                on_update(last)
        assert last is not None
        return last

    async def list_records(self, collection: str, **options: Any) -> catalog_pb2.ListRecordsResponse:
        return await self._unary(calls.list_records(collection, **options))

    async def get_records(self, collection: str, ids: Iterable[str], **options: Any) -> list[Any]:
        return list((await self._unary(calls.get_records(collection, ids, **options))).records)

    async def replace_records(self, collection: str, records: Iterable[RecordLike], **options: Any) -> int:
        return (await self._unary(calls.write_records(WriteMode.REPLACE, collection, records, **options))).task_id

    async def update_records(
        self, collection: str, records: Iterable[RecordLike], *, on_missing: OnMissing | None = None, **options: Any
    ) -> int:
        call = calls.write_records(WriteMode.UPDATE, collection, records, on_missing=on_missing, **options)
        return (await self._unary(call)).task_id

    async def delete_records(self, collection: str, ids: Iterable[str], **options: Any) -> int:
        call = calls.write_records(WriteMode.DELETE, collection, calls.delete_ids(ids), **options)
        return (await self._unary(call)).task_id

    async def stream_records(
        self,
        collection: str,
        records: Iterable[RecordLike],
        *,
        mode: WriteMode = WriteMode.REPLACE,
        section: str = "",
        force: bool = False,
        notification_email: str = "",
        notification_url: str = "",
        on_missing: OnMissing | None = None,
        batch_size: int = messages.BATCH_RECORDS,
        on_progress: ProgressCallback | None = None,
        idempotency_key: str | None = None,
    ) -> catalog_pb2.StreamRecordsResponse:
        header = calls.stream_records_header(
            collection,
            mode,
            section=section,
            force=force,
            notification_email=notification_email,
            notification_url=notification_url,
            on_missing=on_missing,
        )
        call = Call(calls.CATALOG, "StreamRecords", idempotency_key=idempotency_key or calls.new_idempotency_key())
        return await self._client_stream(
            call,
            lambda: messages.stream_records_requests(header, records, batch_size=batch_size, on_progress=on_progress),
            repeatable=isinstance(records, list | tuple),
        )

    async def upload_catalog(
        self,
        section: str = "",
        *,
        items: FileSource | None = None,
        variations: FileSource | None = None,
        item_groups: FileSource | None = None,
        mode: UploadMode = UploadMode.SYNC,
        patch_delta: bool = False,
        force: bool = False,
        notification_email: str = "",
        notification_url: str = "",
        chunk_bytes: int = messages.CHUNK_BYTES,
        on_progress: ProgressCallback | None = None,
    ) -> catalog_pb2.UploadCatalogResponse:
        files = _files(items=items, variations=variations, item_groups=item_groups)
        header = calls.upload_header(
            section,
            mode,
            patch_delta=patch_delta,
            force=force,
            notification_email=notification_email,
            notification_url=notification_url,
        )
        requests = lambda: messages.upload_catalog_requests(  # noqa: E731
            header, files, chunk_bytes=chunk_bytes, on_progress=on_progress
        )
        return await self._client_stream(Call(calls.CATALOG, "UploadCatalog"), requests, repeatable=False)

    async def stream_batch_items(
        self,
        tenant: str,
        environment: str,
        batch_id: str,
        items: Iterable[BatchItemLike],
        *,
        operation: BatchOperation = BatchOperation.ADD,
        batch_size: int = messages.BATCH_RECORDS,
        on_progress: ProgressCallback | None = None,
    ) -> batch_pb2.StreamBatchItemsResponse:
        header = calls.stream_batch_items_header(tenant, environment, batch_id, operation)
        requests = lambda: messages.stream_batch_items_requests(  # noqa: E731
            header, items, batch_size=batch_size, on_progress=on_progress
        )
        return await self._client_stream(Call(calls.BATCHES, "StreamBatchItems"), requests, repeatable=False)


async def _paced(requests: Iterator[Any]) -> AsyncIterator[Any]:
    """The messages as an async iterator: file reads happen between sends, not all before the first."""
    for message in requests:
        yield message
