"""Client streams hold no database connection while the client sends, are capped per tenant and per process,
end after an idle timeout, and leave nothing behind when they break; FIFO follows the final commits."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import text

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from service.db.engine import session_factory
from service.tasks import queue
from service.tasks.worker import Worker
from tests.conftest import start_stack
from tests.helpers import error_details, eventually, stream_is_storing, wait_task

SYNC, ITEMS = catalog_pb2.UPLOAD_MODE_SYNC, record_pb2.RECORD_KIND_ITEM


def upload_header() -> catalog_pb2.UploadCatalogRequest:
    return catalog_pb2.UploadCatalogRequest(header=catalog_pb2.UploadCatalogHeader(mode=SYNC))


def upload_chunk(data: bytes) -> catalog_pb2.UploadCatalogRequest:
    return catalog_pb2.UploadCatalogRequest(chunk=catalog_pb2.FileChunk(file=ITEMS, data=data))


def records_header() -> catalog_pb2.StreamRecordsRequest:
    header = catalog_pb2.StreamRecordsHeader(collection="items", mode=catalog_pb2.WRITE_MODE_REPLACE)
    return catalog_pb2.StreamRecordsRequest(header=header)


def records_batch(name: str, *ids: str) -> catalog_pb2.StreamRecordsRequest:
    return catalog_pb2.StreamRecordsRequest(
        batch=record_pb2.RecordBatch(records=[record_pb2.Record(id=i, name=name) for i in ids])
    )


async def open_upload(stack: Any, tenant: str = "acme") -> Any:
    """An UploadCatalog stream that stored a whole part (over 1 MiB) and is still open."""
    call = stack.catalog.UploadCatalog(metadata=stack.metadata(tenant))
    await call.write(upload_header())
    await call.write(upload_chunk(b"id,item_name\n" + "".join(f"id-{n},Item {n}\n" for n in range(90_000)).encode()))
    await eventually(lambda: stored_parts(stack), bool)
    return call


async def stored_parts(stack: Any) -> int:
    async with stack.engine.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM task_payloads"))).scalar_one()


async def database_now(stack: Any) -> Any:
    async with stack.engine.connect() as conn:
        return (await conn.execute(text("SELECT now()"))).scalar_one()


async def held_since(stack: Any, since: Any) -> int:
    """Sessions of this database in a transaction begun before `since` and idle now: what a stream waiting
    on its client would hold (short transactions of the moment begin later)."""
    async with stack.engine.connect() as conn:
        held = await conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state LIKE 'idle in transaction%' AND xact_start < :since AND pid <> pg_backend_pid()"
            ),
            {"since": since},
        )
        return held.scalar_one()


async def replace(stack: Any, tenant: str, section: str, name: str) -> int:
    response = await stack.catalog.ReplaceRecords(
        catalog_pb2.ReplaceRecordsRequest(
            section=section, collection="items", records=[record_pb2.Record(id="shared", name=name)]
        ),
        metadata=stack.metadata(tenant),
    )
    return response.task_id


async def test_an_open_upload_holds_no_connection_or_lock(database_url: str) -> None:
    async with start_stack(database_url, gateway=False) as stack:
        call = await open_upload(stack)
        postgres = stack.engine.dialect.name == "postgresql"
        since = await database_now(stack) if postgres else None
        # Another tenant's write is stored and applied while the upload waits for its client (on SQLite the
        # upload would otherwise hold the one write lock).
        started = time.monotonic()
        task_id = await asyncio.wait_for(replace(stack, "globex", "Products", "other"), 10)
        assert (await wait_task(stack, task_id, "globex")).status == task_pb2.TASK_STATUS_DONE
        assert time.monotonic() - started < 10
        if postgres:
            assert await held_since(stack, since) == 0
        # The upload is no task yet: not listed, not found.
        listed = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(), metadata=stack.metadata())
        assert listed.total_count == 0
        async with stack.engine.connect() as conn:
            pending_id = (await conn.execute(text("SELECT id FROM tasks WHERE status = 'PENDING'"))).scalar_one()
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stack.tasks.GetTask(task_pb2.GetTaskRequest(id=pending_id), metadata=stack.metadata())
        assert error.value.code() == grpc.StatusCode.NOT_FOUND
        # Finished properly, it becomes a task and is applied.
        await call.done_writing()
        response = await call
        assert response.task_id == pending_id
        assert (await wait_task(stack, pending_id)).status == task_pb2.TASK_STATUS_DONE


async def test_uploads_past_the_per_tenant_cap_are_refused_with_retry_info(database_url: str) -> None:
    async with start_stack(database_url, max_uploads_per_tenant=1, max_uploads=2) as stack:
        first = await open_upload(stack)
        second = stack.catalog.UploadCatalog(metadata=stack.metadata())
        await second.write(upload_header())
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await second
        assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert error_details(error.value)[1] == "TOO_MANY_UPLOADS"
        status = rpc_status.from_call(error.value)
        assert any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in status.details)
        # Over HTTP: 429 with Retry-After.
        response = await stack.http.put(
            "/v1/catalog", headers=stack.auth(), files={"items": ("items.csv", b"id,item_name\na,A\n")}
        )
        assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
        # Another tenant still gets a slot; then the process's cap (2) is reached for everyone.
        other = await open_upload(stack, "globex")
        stream = stack.catalog.StreamRecords(metadata=stack.metadata("globex"))
        await stream.write(records_header())
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stream
        assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        for call in (first, other):
            call.cancel()
        # Slots come back when streams end (a cancelled one's handler ends a moment later).

        async def upload_status() -> int:
            response = await stack.http.put(
                "/v1/catalog", headers=stack.auth(), files={"items": ("items.csv", b"id,item_name\na,A\n")}
            )
            return response.status_code

        assert await eventually(upload_status, lambda code: code != 429) == 200


@pytest.mark.parametrize("rpc", ["UploadCatalog", "StreamRecords", "StreamBatchItems"])
async def test_an_idle_stream_is_ended_and_leaves_nothing(database_url: str, rpc: str) -> None:
    async with start_stack(database_url, gateway=False, upload_idle_timeout_seconds=0.5) as stack:
        if rpc == "UploadCatalog":
            call = stack.catalog.UploadCatalog(metadata=stack.metadata())
            await call.write(upload_header())
            await call.write(upload_chunk(b"id,item_name\na,A\n"))
        elif rpc == "StreamRecords":
            call = stack.catalog.StreamRecords(metadata=stack.metadata())
            await call.write(records_header())
            await call.write(records_batch("x", "a", "b"))
        else:
            # Silent from the start: the header read times out too.
            call = stack.batches.StreamBatchItems(metadata=stack.metadata())
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await call
        assert error.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, error.value
        assert error_details(error.value)[1] == "UPLOAD_IDLE_TIMEOUT"
        assert "sent nothing for 0.5s" in error.value.details()
        assert time.monotonic() - started < 10
        assert not await stream_is_storing(stack)
        assert await stored_parts(stack) == 0
        listed = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(), metadata=stack.metadata())
        assert listed.total_count == 0


async def test_the_workers_delete_what_a_dead_server_left_pending(database_url: str) -> None:
    async with start_stack(database_url, gateway=False, pending_upload_expiry_seconds=0.5) as stack:
        # What a server killed in the middle of an upload leaves: a PENDING task with a part.
        async with stack.engine.connect() as conn:
            tenant_id = (await conn.execute(text("SELECT id FROM tenants WHERE name = 'acme'"))).scalar_one()
        await replace(stack, "acme", "Products", "creates the catalog")
        sessions = session_factory(stack.engine)
        async with sessions() as session:
            catalog_id = (await session.execute(text("SELECT id FROM catalogs"))).scalars().first()
            task = await queue.open_pending(
                session, tenant_id=tenant_id, catalog_id=catalog_id, task_type="catalog_sync", params={}
            )
        async with sessions() as session:
            await queue.store_part(session, task.id, 0, "items.csv", b"id\na\n")
        await eventually(lambda: stream_is_storing(stack), lambda storing: not storing, timeout=20)
        async with stack.engine.connect() as conn:
            parts = await conn.execute(text("SELECT count(*) FROM task_payloads WHERE task_id = :t"), {"t": task.id})
            assert parts.scalar_one() == 0


async def test_fifo_follows_the_commit_that_acknowledged_each_task(database_url: str) -> None:
    """A stream opened first but finished after another write of its catalog was acknowledged runs after it."""
    async with start_stack(database_url, worker=False, gateway=False) as stack:
        streamed = stack.catalog.StreamRecords(metadata=stack.metadata())
        await streamed.write(records_header())
        await streamed.write(records_batch("from the stream", "shared"))
        await eventually(lambda: stream_is_storing(stack), bool)
        acknowledged_first = await replace(stack, "acme", "Products", "acknowledged first")
        await streamed.done_writing()
        stream_task = (await streamed).task_id
        stop = asyncio.Event()
        worker = asyncio.create_task(Worker(stack.engine, stack.settings).run(stop))
        try:
            first = await wait_task(stack, acknowledged_first)
            last = await wait_task(stack, stream_task)
        finally:
            stop.set()
            await worker
        assert first.finish_time.ToDatetime() <= last.start_time.ToDatetime()
        listed = await stack.catalog.ListRecords(
            catalog_pb2.ListRecordsRequest(collection="items"), metadata=stack.metadata()
        )
        assert [r.name for r in listed.records] == ["from the stream"]
