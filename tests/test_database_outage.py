"""A database outage is 503 / UNAVAILABLE with a retry hint, and writes work again once it is back
(a PostgreSQL instance of the test's own, stopped with `pg_ctl stop -m immediate`)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import grpc
import pytest

from catalogingest.v1 import catalog_pb2, record_pb2
from tests.conftest import start_stack
from tests.figures import record
from tests.helpers import eventually, wait_task
from tests.pg_instance import pg_instance


def replace(*ids: str) -> catalog_pb2.ReplaceRecordsRequest:
    return catalog_pb2.ReplaceRecordsRequest(
        collection="items", records=[record_pb2.Record(kind=record_pb2.RECORD_KIND_ITEM, id=i) for i in ids]
    )


async def test_an_outage_is_503_with_retry_after_then_writes_work_again() -> None:
    with pg_instance() as pg:
        async with start_stack(pg.url) as stack:
            first = await stack.http.put("/v2/items", json={"items": [{"id": "before"}]}, headers=stack.auth())
            assert first.status_code == 200, first.text
            await wait_task(stack, first.json()["task_id"])

            pg.stop("immediate")
            down = time.monotonic()
            write = await stack.http.put("/v2/items", json={"items": [{"id": "during"}]}, headers=stack.auth())
            assert write.status_code == 503, write.text
            assert write.json()["code"] == "UNAVAILABLE" and "database is unavailable" in write.json()["message"]
            assert write.headers["Retry-After"] == "2"
            read = await stack.http.get("/v2/items", headers=stack.auth())
            assert read.status_code == 503 and read.headers["Retry-After"] == "2", read.text
            for call, request in (
                (stack.catalog.ReplaceRecords, replace("during")),
                (stack.catalog.ListRecords, catalog_pb2.ListRecordsRequest(collection="items")),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as raised:
                    await call(request, metadata=stack.metadata())
                assert raised.value.code() == grpc.StatusCode.UNAVAILABLE, raised.value
                assert "database is unavailable" in raised.value.details()

            pg.start()
            back = time.monotonic()

            async def put_after() -> int:
                response = await stack.http.put("/v2/items", json={"items": [{"id": "after"}]}, headers=stack.auth())
                return response.status_code

            assert await eventually(put_after, lambda status: status == 200, timeout=30) == 200
            recovered = time.monotonic() - back
            listed = await eventually(
                lambda: stack.http.get("/v2/items", headers=stack.auth()),
                lambda r: r.status_code == 200 and {"before", "after"} <= {i["id"] for i in r.json()["items"]},
                timeout=30,
            )
            assert "during" not in {i["id"] for i in listed.json()["items"]}
            record("database outage", outage_s=round(back - down, 2), first_write_after_restart_s=round(recovered, 2))


async def test_errors_that_mean_an_outage_are_told_from_the_others(tmp_path) -> None:
    """Real driver errors: a refused connection (asyncpg), a SQLite write lock held past the busy timeout."""
    import sqlite3

    import asyncpg

    from service.db.outage import outage_reason
    from tests.conftest import PG_ADMIN_URL, free_port

    with pytest.raises(OSError) as refused:
        await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", timeout=5)
    assert outage_reason(refused.value)

    # A connection the server dropped mid-statement (a restart): asyncpg's interface errors, whatever they say.
    closed = await asyncpg.connect(PG_ADMIN_URL)
    busy = asyncio.create_task(closed.execute("SELECT pg_sleep(5)"))
    await asyncio.sleep(0.2)
    with pytest.raises(asyncpg.InterfaceError) as in_progress:
        await closed.execute("SELECT 1")
    assert "another operation is in progress" in str(in_progress.value)
    assert outage_reason(in_progress.value)
    closed.terminate()
    with contextlib.suppress(asyncpg.InterfaceError, asyncpg.ConnectionDoesNotExistError):
        await busy

    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    waiter = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError) as locked:
        waiter.execute("INSERT INTO t VALUES (1)")
    assert outage_reason(locked.value) == "the database is busy (database is locked)"
    holder.close()
    waiter.close()

    with pytest.raises(sqlite3.OperationalError) as bad_sql:
        sqlite3.connect(":memory:").execute("SELECT * FROM nowhere")
    assert outage_reason(bad_sql.value) == ""
    assert outage_reason(ValueError("x")) == ""
