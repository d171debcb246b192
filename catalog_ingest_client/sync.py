"""The synchronous client: `Client("localhost:50051", token=...)`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc

from catalog_ingest_client import calls, messages
from catalog_ingest_client.calls import BatchOperation, Call, OnMissing, UploadMode, WriteMode
from catalog_ingest_client.channels import DEFAULT_TARGET, credentials, response_class, sync_channel
from catalog_ingest_client.errors import WaitTimeout
from catalog_ingest_client.messages import BatchItemLike, FileSource, ProgressCallback, RecordLike
from catalog_ingest_client.retry import RetryPolicy, delay_before_retry
from catalogingest.v1 import batch_pb2, catalog_pb2, task_pb2

TaskCallback = Callable[[task_pb2.Task], None]


class Client:
    """A gRPC client of catalog-ingest.

    `target` is `host:port` as grpcurl writes it. `tls=True` uses the system's root certificates,
    `root_certificates` (PEM bytes or a file) others; neither means plaintext. `timeout` is each unary
    call's deadline in seconds. Reads, and writes sent with an idempotency key (the client makes one for
    every record write), are retried on UNAVAILABLE, RESOURCE_EXHAUSTED and ABORTED, after the delay the
    server asks for (RetryInfo) or with exponential backoff. Pass `channel` to use one you made.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        token: str | None = None,
        *,
        tls: bool = False,
        root_certificates: bytes | str | Path | None = None,
        timeout: float | None = 30.0,
        retry: RetryPolicy | None = None,
        channel: grpc.Channel | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._own_channel = channel is None
        self.channel = channel or sync_channel(target, credentials(tls, root_certificates))
        self.auth = calls.auth_metadata(token)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._sleep = sleep

    def close(self) -> None:
        if self._own_channel:
            self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Calls and retries

    def _unary(self, call: Call, timeout: float | None = None) -> Any:
        invoke = self.channel.unary_unary(
            call.path,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_class(call.service, call.method).FromString,
        )
        attempt = 0
        while True:
            attempt += 1
            try:
                return invoke(call.request, metadata=call.metadata(self.auth), timeout=timeout or self.timeout)
            except grpc.RpcError as error:
                delay = delay_before_retry(
                    error, call.path, attempt, self.retry, idempotency_key=bool(call.idempotency_key)
                )
                if delay is None:
                    raise
                self._sleep(delay)

    def _client_stream(self, call: Call, requests: Callable[[], Iterator[Any]], *, repeatable: bool) -> Any:
        """A client stream; sent again on a retryable error only when `requests` can be made again."""
        invoke = self.channel.stream_unary(
            call.path,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_class(call.service, call.method).FromString,
        )
        attempt = 0
        while True:
            attempt += 1
            try:
                return invoke(requests(), metadata=call.metadata(self.auth))
            except grpc.RpcError as error:
                delay = delay_before_retry(
                    error, call.path, attempt, self.retry, idempotency_key=bool(call.idempotency_key)
                )
                if delay is None or not repeatable:
                    raise
                self._sleep(delay)

    # Tasks

    def get_task(self, task_id: int) -> task_pb2.Task:
        return self._unary(calls.get_task(task_id)).task

    def list_tasks(self, **filters: Any) -> task_pb2.ListTasksResponse:
        """Filters: section, status (DONE, FAILED, ...), type, page_size, page_token."""
        return self._unary(calls.list_tasks(**filters))

    def cancel_task(self, task_id: int) -> task_pb2.Task:
        return self._unary(calls.cancel_task(task_id)).task

    def ingestion_status(self) -> str:
        return self._unary(calls.ingestion_status()).message

    def watch(self, task_id: int, *, timeout: float | None = None) -> Iterator[task_pb2.Task]:
        """The task now and on every change until it ends (WatchTask), reconnecting after a lost stream.

        Raises WaitTimeout when `timeout` seconds pass first.
        """
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
                for response in invoke(call.request, metadata=call.metadata(self.auth), timeout=remaining):
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
                self._sleep(delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic())))
            else:
                attempt += 1  # the stream ended before the task did: watch again
                if attempt >= self.retry.max_attempts:
                    raise ConnectionError(f"WatchTask for task {task_id} keeps ending before the task does")

    def wait(
        self, task_id: int, *, timeout: float | None = None, on_update: TaskCallback | None = None
    ) -> task_pb2.Task:
        """The task once it is DONE, FAILED or CANCELED; `on_update` sees every change on the way."""
        last = None
        for last in self.watch(task_id, timeout=timeout):
            if on_update is not None:
                on_update(last)
        assert last is not None
        return last

    # Records

    def list_records(self, collection: str, **options: Any) -> catalog_pb2.ListRecordsResponse:
        """Options: section, ids, page_size, page_token."""
        return self._unary(calls.list_records(collection, **options))

    def get_records(self, collection: str, ids: Iterable[str], **options: Any) -> list[Any]:
        return list(self._unary(calls.get_records(collection, ids, **options)).records)

    def replace_records(self, collection: str, records: Iterable[RecordLike], **options: Any) -> int:
        """A task replacing these records (dicts in the `/v2` JSON shape or Records); its id."""
        return self._unary(calls.write_records(WriteMode.REPLACE, collection, records, **options)).task_id

    def update_records(
        self, collection: str, records: Iterable[RecordLike], *, on_missing: OnMissing | None = None, **options: Any
    ) -> int:
        call = calls.write_records(WriteMode.UPDATE, collection, records, on_missing=on_missing, **options)
        return self._unary(call).task_id

    def delete_records(self, collection: str, ids: Iterable[str], **options: Any) -> int:
        call = calls.write_records(WriteMode.DELETE, collection, calls.delete_ids(ids), **options)
        return self._unary(call).task_id

    def stream_records(
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
        """Any number of records as one task (StreamRecords), ~`batch_size` a message. Retried (with the
        same idempotency key) only when `records` is a list or tuple that can be sent again."""
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
        return self._client_stream(
            call,
            lambda: messages.stream_records_requests(header, records, batch_size=batch_size, on_progress=on_progress),
            repeatable=isinstance(records, list | tuple),
        )

    # Uploads

    def upload_catalog(
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
        """A full sync (or delta) from CSV files: paths, binary files or bytes. Not retried: an upload
        has no idempotency key, so a repeat could apply twice."""
        files = _files(items=items, variations=variations, item_groups=item_groups)
        header = calls.upload_header(
            section,
            mode,
            patch_delta=patch_delta,
            force=force,
            notification_email=notification_email,
            notification_url=notification_url,
        )
        call = Call(calls.CATALOG, "UploadCatalog")
        requests = lambda: messages.upload_catalog_requests(  # noqa: E731
            header, files, chunk_bytes=chunk_bytes, on_progress=on_progress
        )
        return self._client_stream(call, requests, repeatable=False)

    def stream_batch_items(
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
        """Items into a batch (StreamBatchItems). Not retried: the batch stream has no idempotency key."""
        header = calls.stream_batch_items_header(tenant, environment, batch_id, operation)
        call = Call(calls.BATCHES, "StreamBatchItems")
        requests = lambda: messages.stream_batch_items_requests(  # noqa: E731
            header, items, batch_size=batch_size, on_progress=on_progress
        )
        return self._client_stream(call, requests, repeatable=False)


def _files(**sources: FileSource | None) -> Mapping[str, FileSource]:
    files = {name: source for name, source in sources.items() if source is not None}
    if not files:
        raise ValueError("give at least one of items, variations, item_groups")
    return files
