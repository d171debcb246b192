"""The client's request building, retries and streaming, against grpc_testing channels built from the real
service descriptors: the test plays the server and sees exactly what the client sends."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import grpc
import grpc_testing
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from catalog_ingest_client import Client, Progress, RetryPolicy, UploadMode, WaitTimeout
from catalog_ingest_client.channels import method_descriptor
from catalogingest.v1 import batch_pb2, catalog_pb2, record_pb2, task_pb2

SERVICES = [
    catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"],
    task_pb2.DESCRIPTOR.services_by_name["TaskService"],
    batch_pb2.DESCRIPTOR.services_by_name["BatchService"],
]
CATALOG = "catalogingest.v1.CatalogService"
TASKS = "catalogingest.v1.TaskService"


@pytest.fixture
def channel() -> Any:
    return grpc_testing.channel(SERVICES, grpc_testing.strict_real_time())


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(1) as executor:
        yield executor


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_on(channel: Any, sleeps: Sleeps | None = None, **options: Any) -> Client:
    return Client(channel=channel, token="secret", sleep=sleeps if sleeps is not None else Sleeps(), **options)


def status_trailers(code: grpc.StatusCode, message: str, *details: Any) -> tuple[tuple[str, bytes], ...]:
    """Trailing metadata carrying a google.rpc.Status with `details`, as the server's interceptor sends it."""
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=message)
    for detail in details:
        packed = any_pb2.Any()
        packed.Pack(detail)
        status.details.append(packed)
    return (("grpc-status-details-bin", status.SerializeToString()),)


def retry_info(seconds: float) -> error_details_pb2.RetryInfo:
    return error_details_pb2.RetryInfo(
        retry_delay=duration_pb2.Duration(seconds=int(seconds), nanos=int(seconds % 1 * 1e9))
    )


def take_unary(channel: Any, service: str, method: str) -> tuple[dict[str, str], Any, Any]:
    metadata, request, rpc = channel.take_unary_unary(method_descriptor(service, method))
    return dict(metadata), request, rpc


def test_unary_call_sends_the_token_and_the_request(channel: Any, pool: ThreadPoolExecutor) -> None:
    future = pool.submit(client_on(channel).get_task, 7)
    metadata, request, rpc = take_unary(channel, TASKS, "GetTask")
    rpc.terminate(task_pb2.GetTaskResponse(task=task_pb2.Task(id=7)), (), grpc.StatusCode.OK, "")
    assert future.result(5).id == 7
    assert request == task_pb2.GetTaskRequest(id=7)
    assert metadata["authorization"] == "Bearer secret"


def test_a_read_is_retried_after_the_delay_the_server_asks_for(channel: Any, pool: ThreadPoolExecutor) -> None:
    sleeps = Sleeps()
    future = pool.submit(client_on(channel, sleeps).get_task, 7)
    _, _, rpc = take_unary(channel, TASKS, "GetTask")
    message = "try later"
    trailers = status_trailers(grpc.StatusCode.UNAVAILABLE, message, retry_info(1.5))
    rpc.terminate(None, trailers, grpc.StatusCode.UNAVAILABLE, message)
    _, _, rpc = take_unary(channel, TASKS, "GetTask")
    rpc.terminate(task_pb2.GetTaskResponse(task=task_pb2.Task(id=7)), (), grpc.StatusCode.OK, "")
    assert future.result(5).id == 7
    assert sleeps == [1.5]


def test_a_read_gives_up_after_max_attempts_with_backoff(channel: Any, pool: ThreadPoolExecutor) -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.1, max_backoff=0.3)
    future = pool.submit(client_on(channel, sleeps, retry=policy).list_tasks)
    for _ in range(3):
        _, _, rpc = take_unary(channel, TASKS, "ListTasks")
        rpc.terminate(None, (), grpc.StatusCode.UNAVAILABLE, "down")
    with pytest.raises(grpc.RpcError) as raised:
        future.result(5)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert len(sleeps) == 2 and all(0 <= s <= 0.3 for s in sleeps)


def test_a_refused_request_is_not_retried(channel: Any, pool: ThreadPoolExecutor) -> None:
    sleeps = Sleeps()
    future = pool.submit(client_on(channel, sleeps).get_task, 7)
    _, _, rpc = take_unary(channel, TASKS, "GetTask")
    rpc.terminate(None, (), grpc.StatusCode.NOT_FOUND, "task 7 not found")
    with pytest.raises(grpc.RpcError) as raised:
        future.result(5)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND and sleeps == []


def test_a_write_is_retried_with_the_idempotency_key_it_was_first_sent_with(
    channel: Any, pool: ThreadPoolExecutor
) -> None:
    sleeps = Sleeps()
    records = [{"id": "a", "name": "A", "data": {"brand": "Acme"}}, {"id": "b", "timestamp": "2024-01-01T00:00:00Z"}]
    future = pool.submit(client_on(channel, sleeps).replace_records, "items", records, section="shop")
    first, request, rpc = take_unary(channel, CATALOG, "ReplaceRecords")
    rpc.terminate(None, (), grpc.StatusCode.UNAVAILABLE, "connection reset")
    second, again, rpc = take_unary(channel, CATALOG, "ReplaceRecords")
    rpc.terminate(catalog_pb2.ReplaceRecordsResponse(task_id=3), (), grpc.StatusCode.OK, "")
    assert future.result(5) == 3
    assert first["idempotency-key"] and first["idempotency-key"] == second["idempotency-key"]
    assert again == request
    assert request.section == "shop" and request.collection == "items"
    assert [(r.kind, r.id, r.name, r.data_json) for r in request.records[:1]] == [
        (record_pb2.RECORD_KIND_ITEM, "a", "A", '{"brand": "Acme"}')
    ]
    assert request.records[1].timestamp.ToDatetime(dt.UTC) == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert len(sleeps) == 1


def collect_stream(channel: Any, service: str, method: str, expected: int) -> tuple[dict[str, str], list[Any], Any]:
    metadata, rpc = channel.take_stream_unary(method_descriptor(service, method))
    messages = [rpc.take_request() for _ in range(expected)]
    rpc.requests_closed()
    return dict(metadata), messages, rpc


def test_upload_catalog_declares_the_files_then_streams_them_in_chunks(channel: Any, pool: ThreadPoolExecutor) -> None:
    items = b"id,item_name\n" + b"".join(b"item-%d,Item %d\n" % (i, i) for i in range(40))
    groups = io.BytesIO(b"id,name\ng,G\n")
    seen: list[tuple[int, int | None]] = []

    def on_progress(progress: Progress) -> None:
        seen.append((progress.bytes_sent, progress.bytes_total))

    client = client_on(channel)
    upload: Callable[[], Any] = lambda: client.upload_catalog(  # noqa: E731
        "shop",
        items=items,
        item_groups=groups,
        mode=UploadMode.DELTA,
        patch_delta=True,
        chunk_bytes=100,
        on_progress=on_progress,
    )
    future: Future[Any] = pool.submit(upload)
    chunks = -(-len(items) // 100) + 1
    metadata, messages, rpc = collect_stream(channel, CATALOG, "UploadCatalog", 1 + chunks)
    rpc.terminate(catalog_pb2.UploadCatalogResponse(task_id=9), (), grpc.StatusCode.OK, "")
    assert future.result(5).task_id == 9
    header = messages[0].header
    assert (header.section, header.mode, header.patch_delta) == ("shop", catalog_pb2.UPLOAD_MODE_DELTA, True)
    assert list(header.files) == [record_pb2.RECORD_KIND_ITEM, record_pb2.RECORD_KIND_ITEM_GROUP]
    sent = [m.chunk for m in messages[1:]]
    assert b"".join(c.data for c in sent if c.file == record_pb2.RECORD_KIND_ITEM) == items
    assert all(len(c.data) <= 100 for c in sent)
    assert sent[-1].file == record_pb2.RECORD_KIND_ITEM_GROUP and sent[-1].data == b"id,name\ng,G\n"
    total = len(items) + 12
    assert seen[-1] == (total, total) and [s for s, _ in seen] == sorted(s for s, _ in seen)
    assert metadata["authorization"] == "Bearer secret" and "idempotency-key" not in metadata


def test_an_upload_is_not_retried(channel: Any, pool: ThreadPoolExecutor) -> None:
    sleeps = Sleeps()
    future = pool.submit(client_on(channel, sleeps).upload_catalog, items=b"id\na\n")
    _, _, rpc = collect_stream(channel, CATALOG, "UploadCatalog", 2)
    rpc.terminate(None, (), grpc.StatusCode.UNAVAILABLE, "connection reset")
    with pytest.raises(grpc.RpcError):
        future.result(5)
    assert sleeps == []


def test_stream_records_batches_and_retries_a_list_with_the_same_key(channel: Any, pool: ThreadPoolExecutor) -> None:
    sleeps = Sleeps()
    records = [{"id": f"v{i}", "item_id": "p"} for i in range(5)]
    client = client_on(channel, sleeps)
    future = pool.submit(lambda: client.stream_records("variations", records, batch_size=2, section="shop"))
    first, messages, rpc = collect_stream(channel, CATALOG, "StreamRecords", 4)
    trailers = status_trailers(grpc.StatusCode.RESOURCE_EXHAUSTED, "busy", retry_info(2))
    rpc.terminate(None, trailers, grpc.StatusCode.RESOURCE_EXHAUSTED, "busy")
    second, again, rpc = collect_stream(channel, CATALOG, "StreamRecords", 4)
    rpc.terminate(catalog_pb2.StreamRecordsResponse(task_id=4, records_received=5), (), grpc.StatusCode.OK, "")
    assert future.result(5).task_id == 4
    assert sleeps == [2.0]
    assert first["idempotency-key"] == second["idempotency-key"]
    assert messages == again
    assert messages[0].header.collection == "variations" and messages[0].header.mode == catalog_pb2.WRITE_MODE_REPLACE
    batches = [[(r.kind, r.id, r.item_id) for r in m.batch.records] for m in messages[1:]]
    assert [len(b) for b in batches] == [2, 2, 1]
    assert batches[0][0] == (record_pb2.RECORD_KIND_VARIATION, "v0", "p")


def test_stream_batch_items_sends_the_header_then_chunks(channel: Any, pool: ThreadPoolExecutor) -> None:
    items = ({"id": f"i{i}", "type": "item", "attributes": {"n": i}} for i in range(3))
    client = client_on(channel)
    future = pool.submit(lambda: client.stream_batch_items("acme", "prod", "7", items, batch_size=2))
    _, messages, rpc = collect_stream(channel, "catalogingest.v1.BatchService", "StreamBatchItems", 3)
    rpc.terminate(batch_pb2.StreamBatchItemsResponse(items_received=3), (), grpc.StatusCode.OK, "")
    assert future.result(5).items_received == 3
    assert (messages[0].header.tenant, messages[0].header.batch_id) == ("acme", "7")
    assert [[i.id for i in m.chunk.items] for m in messages[1:]] == [["i0", "i1"], ["i2"]]
    assert messages[1].chunk.items[1].attributes_json == '{"n": 1}'


def watch_rpc(channel: Any) -> tuple[Any, Any]:
    _, request, rpc = channel.take_unary_stream(method_descriptor(TASKS, "WatchTask"))
    return request, rpc


def test_wait_follows_the_watch_until_a_final_status(channel: Any, pool: ThreadPoolExecutor) -> None:
    updates: list[int] = []
    client = client_on(channel)
    future = pool.submit(lambda: client.wait(5, on_update=lambda t: updates.append(t.status)))
    request, rpc = watch_rpc(channel)
    for status in (task_pb2.TASK_STATUS_QUEUED, task_pb2.TASK_STATUS_IN_PROGRESS, task_pb2.TASK_STATUS_DONE):
        rpc.send_response(task_pb2.WatchTaskResponse(task=task_pb2.Task(id=5, status=status)))
    rpc.terminate((), grpc.StatusCode.OK, "")
    assert future.result(5).status == task_pb2.TASK_STATUS_DONE
    assert request.id == 5 and updates == [1, 2, 3]


def test_wait_reconnects_after_a_lost_watch(channel: Any, pool: ThreadPoolExecutor) -> None:
    sleeps = Sleeps()
    client = client_on(channel, sleeps)
    future = pool.submit(lambda: client.wait(5))
    _, rpc = watch_rpc(channel)
    rpc.send_response(task_pb2.WatchTaskResponse(task=task_pb2.Task(id=5, status=task_pb2.TASK_STATUS_IN_PROGRESS)))
    rpc.terminate((), grpc.StatusCode.UNAVAILABLE, "server restarting")
    _, rpc = watch_rpc(channel)
    rpc.send_response(task_pb2.WatchTaskResponse(task=task_pb2.Task(id=5, status=task_pb2.TASK_STATUS_FAILED)))
    rpc.terminate((), grpc.StatusCode.OK, "")
    assert future.result(5).status == task_pb2.TASK_STATUS_FAILED
    assert len(sleeps) == 1


def test_wait_raises_wait_timeout_when_the_deadline_passes(channel: Any, pool: ThreadPoolExecutor) -> None:
    client = client_on(channel)
    future = pool.submit(lambda: client.wait(5, timeout=30))
    _, rpc = watch_rpc(channel)
    rpc.send_response(task_pb2.WatchTaskResponse(task=task_pb2.Task(id=5, status=task_pb2.TASK_STATUS_QUEUED)))
    rpc.terminate((), grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded")
    with pytest.raises(WaitTimeout) as raised:
        future.result(5)
    assert raised.value.task_id == 5 and "within 30 s" in str(raised.value)
