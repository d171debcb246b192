"""GET /metrics: Prometheus text, parsed with prometheus_client's parser, moved by real requests and tasks."""

from __future__ import annotations

import grpc
import httpx
import pytest

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from service.metrics import process_metrics
from service.tasks import observe
from tests.conftest import start_stack
from tests.helpers import eventually
from tests.observability import moved, parse, scrape, split_deployment, value

GRPC_REPLACE = "/catalogingest.v1.CatalogService/ReplaceRecords"
ITEMS = {"items": [{"id": f"m{n}", "name": f"M{n}"} for n in range(3)]}


async def finished(client: httpx.AsyncClient, response: httpx.Response, headers) -> dict:
    assert response.status_code == 200, response.text
    path = response.json()["task_status_path"]

    async def probe() -> dict:
        return (await client.get(path, headers=headers)).json()

    return await eventually(probe, lambda task: task["status"] in ("DONE", "FAILED"))


async def test_requests_rpcs_and_tasks_move_their_counters(http_stack) -> None:
    s, auth = http_stack, http_stack.auth()
    before = await scrape(s.http, "/metrics")

    done = await finished(s.http, await s.http.put("/v2/items?key=acme", json=ITEMS, headers=auth), auth)
    ghost = {"items": [{"id": "ghost", "name": "G"}]}
    failed = await finished(s.http, await s.http.patch("/v2/items?key=acme", json=ghost, headers=auth), auth)
    assert (done["status"], failed["status"]) == ("DONE", "FAILED")
    assert (
        await s.http.put("/v2/items?key=acme", json={"items": [{"name": "no id"}]}, headers=auth)
    ).status_code == 400
    assert (await s.http.get("/no/such/path/acme-secret", headers=auth)).status_code == 404
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await s.catalog.ReplaceRecords(
            catalog_pb2.ReplaceRecordsRequest(collection="nope", records=[record_pb2.Record(id="x")]),
            metadata=s.metadata(),
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    def settled(m) -> bool:
        # The server counts an RPC as it ends, which may be just after its caller got the status; the worker
        # samples the queue every heartbeat.
        return (
            moved(before, m, "catalog_ingest_grpc_requests_total", method=GRPC_REPLACE, code="INVALID_ARGUMENT") > 0
            and value(m, "catalog_ingest_workers_live") == 1
            and value(m, "catalog_ingest_queue_depth", status="IN_PROGRESS") == 0
        )

    after = await eventually(lambda: scrape(s.http, "/metrics"), settled)
    # Routes by template (the collection is a path variable); each status code is a series of its own.
    assert moved(before, after, "catalog_ingest_http_requests_total", route="/v2/{collection}", code="200") == 2
    assert moved(before, after, "catalog_ingest_http_requests_total", route="/v2/{collection}", code="400") == 1
    assert moved(before, after, "catalog_ingest_http_requests_total", route="unmatched", code="404") == 1
    assert moved(before, after, "catalog_ingest_http_request_duration_seconds_count", route="/v2/{collection}") == 3
    assert moved(before, after, "catalog_ingest_http_requests_total", route="/v1/task/{id}", code="200") >= 2
    # Through the gateway and directly: each RPC once, with its code.
    assert moved(before, after, "catalog_ingest_grpc_requests_total", method=GRPC_REPLACE, code="OK") == 1
    assert moved(before, after, "catalog_ingest_grpc_requests_total", method=GRPC_REPLACE, code="INVALID_ARGUMENT") == 1
    assert moved(before, after, "catalog_ingest_grpc_request_duration_seconds_count", method=GRPC_REPLACE) == 2
    assert moved(before, after, "catalog_ingest_tasks_total", type="records_replace", status="DONE") == 1
    assert moved(before, after, "catalog_ingest_tasks_total", type="records_update", status="FAILED") == 1
    assert moved(before, after, "catalog_ingest_task_duration_seconds_count", type="records_replace") == 1
    assert moved(before, after, "catalog_ingest_records_applied_total", kind="items") == 3
    assert value(after, "catalog_ingest_queue_depth", status="QUEUED") == 0
    assert value(after, "catalog_ingest_queue_depth", status="IN_PROGRESS") == 0
    assert value(after, "catalog_ingest_queue_oldest_age_seconds") == 0
    # No tenant name, no raw path in any label.
    labels = {v for _name, pairs in after for _k, v in pairs}
    assert not {v for v in labels if "acme" in v or "/no/such" in v}


async def test_queue_gauges_sample_the_database(database_url) -> None:
    """With no worker running, what waits is what the gauges show; the oldest task's age grows."""
    async with start_stack(database_url, worker=False, gateway=False) as s:
        submitted = []
        for n in range(2):
            reply = await s.catalog.ReplaceRecords(
                catalog_pb2.ReplaceRecordsRequest(collection="items", records=[record_pb2.Record(id=f"q{n}")]),
                metadata=s.metadata(),
            )
            submitted.append(reply.task_id)
        first_id = submitted[0]
        await observe.sample_queue(s.engine, s.settings.worker_lease_timeout)
        first = parse(process_metrics().render().decode())
        assert value(first, "catalog_ingest_queue_depth", status="QUEUED") == 2
        assert value(first, "catalog_ingest_queue_depth", status="IN_PROGRESS") == 0
        assert value(first, "catalog_ingest_workers_live") == 0
        age = value(first, "catalog_ingest_queue_oldest_age_seconds")
        assert 0 <= age < 60

        async def later() -> float:
            await observe.sample_queue(s.engine, s.settings.worker_lease_timeout)
            return value(parse(process_metrics().render().decode()), "catalog_ingest_queue_oldest_age_seconds")

        assert await eventually(later, lambda newer: newer >= age + 0.2) < 60

        # A canceled task leaves the queue, and is counted by the server that canceled it.
        counted = value(first, "catalog_ingest_tasks_total", type="records_replace", status="CANCELED")
        await s.tasks.CancelTask(task_pb2.CancelTaskRequest(id=first_id), metadata=s.metadata())
        await observe.sample_queue(s.engine, s.settings.worker_lease_timeout)
        after = parse(process_metrics().render().decode())
        assert value(after, "catalog_ingest_queue_depth", status="QUEUED") == 1
        assert value(after, "catalog_ingest_tasks_total", type="records_replace", status="CANCELED") == counted + 1


async def test_a_separate_worker_process_serves_its_own_metrics(pg_url, processes) -> None:
    async with split_deployment(pg_url, processes) as split, httpx.AsyncClient(base_url=split.http_url) as http:
        front_before = await scrape(http, "/metrics")
        worker_before = await scrape(http, split.worker_metrics_url)

        task = await finished(
            http, await http.put("/v2/items?key=acme", json=ITEMS, headers=split.auth()), split.auth()
        )
        assert task["status"] == "DONE"

        front = await scrape(http, "/metrics")
        worker = await eventually(
            lambda: scrape(http, split.worker_metrics_url),
            lambda m: moved(worker_before, m, "catalog_ingest_tasks_total", type="records_replace", status="DONE"),
        )
        # The front process answered the request and the RPC; the worker applied the task.
        assert (
            moved(front_before, front, "catalog_ingest_http_requests_total", route="/v2/{collection}", code="200") == 1
        )
        assert moved(front_before, front, "catalog_ingest_grpc_requests_total", method=GRPC_REPLACE, code="OK") == 1
        assert value(front, "catalog_ingest_tasks_total", type="records_replace", status="DONE") == 0
        assert moved(worker_before, worker, "catalog_ingest_tasks_total", type="records_replace", status="DONE") == 1
        assert moved(worker_before, worker, "catalog_ingest_records_applied_total", kind="items") == 3
        assert moved(worker_before, worker, "catalog_ingest_task_duration_seconds_count", type="records_replace") == 1
        assert value(worker, "catalog_ingest_workers_live") == 1
        assert value(worker, "catalog_ingest_http_requests_total", route="/v2/{collection}", code="200") == 0
