"""Webhooks with a real HTTP receiver, on both backends: a finished task's JSON arrives signed, failed
attempts are retried from the queue with one delivery id, a dead receiver delays no task, the tenant's
default URL catches tasks without their own, and what happened is visible with `catalog-ingest webhooks`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import orjson
import pytest
from sqlalchemy import text

from catalog_ingest_client import AsyncClient
from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from service.tasks import queue
from service.webhooks import signing
from tests.conftest import Stack, start_stack
from tests.helpers import error_details, eventually, wait_task
from tests.processes import ROOT, spawn
from tests.webhook_receiver import Receiver, receiver

FAST = {"webhook_poll_interval": 0.05, "webhook_backoff_seconds": 0.2}


@pytest.fixture
async def hook_stack(database_url: str) -> AsyncIterator[Stack]:
    async with start_stack(database_url, **FAST) as running:
        yield running


async def cli(stack: Stack, *args: str) -> tuple[int, str, str]:
    """`catalog-ingest ...` in its own process, on the stack's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_INGEST_")}
    env["CATALOG_INGEST_DATABASE_URL"] = stack.database_url
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service.cli", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def deliveries(stack: Stack, task_id: int) -> list[dict[str, Any]]:
    code, out, err = await cli(stack, "webhooks", "list", "--task", str(task_id), "--json")
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


async def statuses(stack: Stack, task_id: int) -> list[tuple[str, int]]:
    """(status, attempts) of the task's deliveries, read from the database: cheap enough to poll."""
    async with stack.engine.connect() as conn:
        query = text("SELECT status, attempts FROM webhook_deliveries WHERE task_id = :t ORDER BY created_at")
        return [(r.status, r.attempts) for r in await conn.execute(query, {"t": task_id})]


async def live_workers(stack: Stack) -> int:
    async with stack.engine.connect() as conn:
        return await queue.live_workers(conn, stack.settings.worker_lease_timeout)


async def last_status_codes(stack: Stack, task_id: int) -> list[int | None]:
    async with stack.engine.connect() as conn:
        query = text("SELECT last_status_code FROM webhook_deliveries WHERE task_id = :t")
        return list((await conn.execute(query, {"t": task_id})).scalars())


async def settled(stack: Stack, task_id: int, status: str) -> list[dict[str, Any]]:
    """The task's deliveries as `webhooks list` shows them, once the first has `status`."""
    await eventually(lambda: statuses(stack, task_id), lambda rows: bool(rows) and rows[0][0] == status)
    return await deliveries(stack, task_id)


async def secret(stack: Stack, tenant: str = "acme") -> str:
    code, out, err = await cli(stack, "tenants", "get-webhook", "--tenant", tenant)
    assert code == 0, err
    return out.split("secret: ", 1)[1].strip()


async def put_items(stack: Stack, *ids: str, url: str | None = None, section: str = "Products") -> int:
    params = {"key": "acme", "section": section} | ({"notification_url": url} if url else {})
    body = {"items": [{"id": i, "name": i.upper(), "data": {"url": f"/p/{i}"}} for i in ids]}
    response = await stack.http.put("/v2/items", params=params, json=body, headers=stack.auth())
    assert response.status_code == 200, response.text
    return response.json()["task_id"]


async def arrived(hooks: Receiver, count: int, timeout: float = 20.0) -> None:
    async def seen() -> int:
        return hooks.count()

    await eventually(seen, lambda n: n >= count, timeout=timeout)


async def test_a_finished_task_is_posted_signed_as_get_task_shows_it(hook_stack: Stack) -> None:
    with receiver(200) as hooks:
        task_id = await put_items(hook_stack, "a", "b", url=hooks.url)
        await arrived(hooks, 1)
        done = await settled(hook_stack, task_id, "DELIVERED")
    request = hooks.received[0]
    assert request.path == "/hooks/catalog"
    assert request.headers["content-type"] == "application/json"
    # The body is the task as GET /v1/tasks/{id} shows it, byte for byte the JSON the receiver parses.
    shown = await hook_stack.http.get(f"/v1/tasks/{task_id}", headers=hook_stack.auth())
    assert orjson.loads(request.body) == shown.json()
    assert shown.json()["status"] == "DONE" and shown.json()["result"]["items"]["created"] == 2
    # Signed with the tenant's secret (made on the first delivery) over timestamp + body.
    header = request.headers[signing.SIGNATURE_HEADER.lower()]
    assert signing.verify(await secret(hook_stack), header, request.body)
    assert not signing.verify("whsec_wrong", header, request.body)
    assert not signing.verify(await secret(hook_stack), header, request.body.replace(b"DONE", b"FAIL"))
    # The delivery id is the idempotency id; the listing shows the outcome.
    assert request.headers[signing.DELIVERY_HEADER.lower()] == done[0]["id"]
    assert (done[0]["attempts"], done[0]["last_status_code"], done[0]["url"]) == (1, 200, hooks.url)
    assert hooks.count() == 1


async def test_failed_attempts_are_retried_with_the_same_delivery_id(hook_stack: Stack) -> None:
    with receiver(500, 500, 200) as hooks:
        task_id = await put_items(hook_stack, "a", url=hooks.url)
        await arrived(hooks, 3)
        listed = await settled(hook_stack, task_id, "DELIVERED")
    ids = {r.headers[signing.DELIVERY_HEADER.lower()] for r in hooks.received}
    assert ids == {listed[0]["id"]}
    assert len({r.body for r in hooks.received}) == 1  # the same bytes every time
    assert (listed[0]["attempts"], listed[0]["last_status_code"], listed[0]["last_error"]) == (3, 200, None)
    assert hooks.count() == 3


async def test_a_delivery_is_given_up_after_its_attempts_and_says_why(database_url: str) -> None:
    async with start_stack(database_url, webhook_max_attempts=2, **FAST) as stack:
        with receiver(503) as hooks:
            task_id = await put_items(stack, "a", url=hooks.url)
            listed = await settled(stack, task_id, "GAVE_UP")
            assert hooks.count() == 2
        assert (listed[0]["attempts"], listed[0]["last_status_code"]) == (2, 503)
        assert listed[0]["last_error"] == "HTTP 503: receiver is failing"
        code, out, _ = await cli(stack, "webhooks", "list", "--task", str(task_id))
        assert code == 0 and "GAVE_UP" in out and "attempts 2" in out and "HTTP 503" in out


async def test_a_dead_receiver_never_delays_the_next_task_of_the_catalog(database_url: str) -> None:
    async with start_stack(database_url, webhook_timeout_seconds=30, **FAST) as stack:
        with receiver(hang=True) as hooks:
            first = await put_items(stack, "a", url=hooks.url)
            await arrived(hooks, 1)  # the receiver holds the first task's delivery and never answers
            started = time.monotonic()
            second = await put_items(stack, "b", url=hooks.url)
            assert (await wait_task(stack, second, timeout=10)).status == task_pb2.TASK_STATUS_DONE
            assert time.monotonic() - started < 5
            assert await statuses(stack, first) == [("PENDING", 1)]


async def test_the_tenant_default_receives_done_failed_and_canceled_tasks(database_url: str) -> None:
    # The first task's apply lasts long enough for the second to be canceled while still queued, on a loaded
    # machine too (at 0.5 s the cancel sometimes came after the worker had started it).
    async with start_stack(database_url, test_fault="apply_delay:1.5", **FAST) as stack:
        with receiver(200) as hooks:
            code, out, err = await cli(
                stack, "tenants", "set-webhook", "--tenant", "acme", "--url", hooks.url, "--secret", "s3cret"
            )
            assert code == 0, err
            assert f"url: {hooks.url}" in out and "secret: s3cret" in out
            done = await put_items(stack, "a")
            queued = await put_items(stack, "b")
            canceled = await stack.http.post(f"/v1/tasks/{queued}:cancel", headers=stack.auth())
            assert canceled.status_code == 200, canceled.text
            failed = (
                await stack.catalog.UpdateRecords(
                    catalog_pb2.UpdateRecordsRequest(
                        collection="items", records=[record_pb2.Record(id="missing", name="x")]
                    ),
                    metadata=stack.metadata(),
                )
            ).task_id
            await wait_task(stack, failed)
            await arrived(hooks, 3)
            shown = {orjson.loads(r.body)["id"]: orjson.loads(r.body)["status"] for r in hooks.received}
            assert shown == {done: "DONE", queued: "CANCELED", failed: "FAILED"}
            assert all(signing.verify("s3cret", r.headers["catalog-ingest-signature"], r.body) for r in hooks.received)
            # Another tenant's tasks go nowhere; a cleared default sends nothing more.
            other = (
                await stack.catalog.ReplaceRecords(
                    catalog_pb2.ReplaceRecordsRequest(collection="items", records=[record_pb2.Record(id="g")]),
                    metadata=stack.metadata("globex"),
                )
            ).task_id
            await wait_task(stack, other, tenant="globex")
            assert await statuses(stack, other) == []
            assert (await cli(stack, "tenants", "clear-webhook", "--tenant", "acme"))[0] == 0
            after = await put_items(stack, "c")
            await wait_task(stack, after)
            assert await statuses(stack, after) == []
            assert hooks.count() == 3


async def test_a_bad_notification_url_is_refused_naming_the_field(hook_stack: Stack) -> None:
    response = await hook_stack.http.put(
        "/v2/items",
        params={"key": "acme", "notification_url": "ftp://example.com/x"},
        json={"items": [{"id": "a"}]},
        headers=hook_stack.auth(),
    )
    assert response.status_code == 400
    assert "notification_url" in response.text
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await hook_stack.catalog.ReplaceRecords(
            catalog_pb2.ReplaceRecordsRequest(
                collection="items", records=[record_pb2.Record(id="a")], notification_url="not a url"
            ),
            metadata=hook_stack.metadata(),
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(refused.value)[0] == ["notification_url"]
    async with hook_stack.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM tasks"))).scalar_one() == 0


async def test_the_cli_refuses_a_bad_url_and_an_unknown_tenant(hook_stack: Stack) -> None:
    code, _, err = await cli(hook_stack, "tenants", "set-webhook", "--tenant", "acme", "--url", "localhost:9")
    assert code == 2 and "--url must be an absolute http:// or https:// URL" in err
    code, _, err = await cli(hook_stack, "tenants", "set-webhook", "--tenant", "nobody", "--url", "http://x.example/")
    assert code == 1 and "tenant 'nobody' not found" in err


async def test_a_worker_killed_between_attempts_leaves_the_delivery_to_the_next(pg_url: str, processes: list) -> None:
    """At least once, from the queue: the first attempt's failure is recorded, the worker is killed (-9)
    before the retry is due, and another worker process delivers it under the same id."""
    async with start_stack(pg_url, worker=False, gateway=False) as stack:
        with receiver(500, 200) as hooks:
            # The retry is due 3 s after the first attempt: time to kill the worker in between.
            doomed = spawn(processes, pg_url, "worker", webhook_poll_interval=0.05, webhook_backoff_seconds=3)
            await eventually(lambda: live_workers(stack), lambda n: n == 1, timeout=30)
            task_id = (
                await stack.catalog.ReplaceRecords(
                    catalog_pb2.ReplaceRecordsRequest(
                        collection="items", records=[record_pb2.Record(id="a")], notification_url=hooks.url
                    ),
                    metadata=stack.metadata(),
                )
            ).task_id
            await arrived(hooks, 1)
            await eventually(lambda: last_status_codes(stack, task_id), lambda codes: codes == [500])
            assert await statuses(stack, task_id) == [("PENDING", 1)] and hooks.count() == 1
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(10)

            spawn(processes, pg_url, "worker", webhook_poll_interval=0.05, webhook_backoff_seconds=3)
            await eventually(lambda: statuses(stack, task_id), lambda rows: rows == [("DELIVERED", 2)], timeout=30)
        first, second = hooks.received
        assert first.headers["catalog-ingest-delivery-id"] == second.headers["catalog-ingest-delivery-id"]
        assert first.body == second.body


async def test_a_worker_killed_mid_attempt_is_retried_after_its_lease(pg_url: str, processes: list) -> None:
    """A worker killed while the receiver holds its request: the delivery is due again when the claim's lease
    ends (webhook_timeout_seconds * 2 + 5) and another worker delivers it."""
    async with start_stack(pg_url, worker=False, gateway=False) as stack:
        with receiver(200, hang=True) as hanging:
            doomed = spawn(processes, pg_url, "worker", webhook_poll_interval=0.05, webhook_timeout_seconds=1)
            await eventually(lambda: live_workers(stack), lambda n: n == 1, timeout=30)
            task_id = (
                await stack.catalog.ReplaceRecords(
                    catalog_pb2.ReplaceRecordsRequest(
                        collection="items", records=[record_pb2.Record(id="a")], notification_url=hanging.url
                    ),
                    metadata=stack.metadata(),
                )
            ).task_id
            await arrived(hanging, 1)
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(10)
        assert await statuses(stack, task_id) == [("PENDING", 1)]
        with receiver(200) as hooks:
            # The receiver comes back on another port: point the waiting delivery there.
            async with stack.engine.begin() as conn:
                await conn.execute(text("UPDATE webhook_deliveries SET url = :u"), {"u": hooks.url})
            spawn(processes, pg_url, "worker", webhook_poll_interval=0.05, webhook_timeout_seconds=1)
            await eventually(lambda: statuses(stack, task_id), lambda rows: rows == [("DELIVERED", 2)], timeout=30)
            assert hooks.count() == 1


async def test_streams_and_csv_uploads_name_their_url_too(hook_stack: Stack) -> None:
    """notification_url on the client streams (gRPC headers) and on PUT /v1/catalog (a query parameter)."""
    with receiver(200) as hooks:
        target = f"127.0.0.1:{hook_stack.settings.grpc_port}"
        async with AsyncClient(target, hook_stack.tokens["acme"], timeout=30) as client:
            streamed = await client.stream_records("items", [{"id": "s1"}], notification_url=hooks.url + "?via=stream")
            uploaded = await client.upload_catalog(
                "Uploads", items=b"id,item_name\nu1,U\n", notification_url=hooks.url + "?via=upload"
            )
        response = await hook_stack.http.put(
            "/v1/catalog",
            params={"key": "acme", "section": "Csv", "notification_url": hooks.url + "?via=csv"},
            files={"items": ("items.csv", b"id,item_name\nc1,C\n", "text/csv")},
            headers=hook_stack.auth(),
        )
        assert response.status_code == 200, response.text
        await arrived(hooks, 3)
    by_path = {r.path: orjson.loads(r.body) for r in hooks.received}
    assert by_path["/hooks/catalog?via=stream"]["id"] == streamed.task_id
    assert by_path["/hooks/catalog?via=upload"]["id"] == uploaded.task_id
    assert by_path["/hooks/catalog?via=csv"]["id"] == response.json()["task_id"]
    assert {body["status"] for body in by_path.values()} == {"DONE"}
