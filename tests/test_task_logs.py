"""Logs that follow a task: one X-Request-Id, found on the gateway's, the gRPC server's and the worker's lines
(separate processes), with the tenant, task and catalog, down to the failure notice the worker sends."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from service import log_context
from service.logs import JsonFormatter, TextFormatter, configure_logging
from tests.conftest import free_port
from tests.helpers import eventually
from tests.observability import split_deployment

RFC3339_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a process's log, each one JSON object (json.loads fails the test otherwise)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def find(entries: list[dict[str, Any]], **fields: Any) -> list[dict[str, Any]]:
    return [e for e in entries if all(e.get(k) == v for k, v in fields.items())]


async def test_one_request_id_from_gateway_through_grpc_to_the_worker_and_its_notice(pg_url, processes) -> None:
    received: list[str] = []

    class Mailbox:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope.content.decode())
            return "250 OK"

    smtp_port = free_port()
    mailbox = Controller(Mailbox(), hostname="127.0.0.1", port=smtp_port)
    mailbox.start()
    try:
        async with (
            split_deployment(pg_url, processes, log_level="INFO", smtp_port=smtp_port) as split,
            httpx.AsyncClient(base_url=split.http_url) as http,
        ):
            items = {"items": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}]}
            applied = await http.put(
                "/v2/items?key=acme", json=items, headers={**split.auth(), "X-Request-Id": "req-applied-1"}
            )
            assert applied.status_code == 200 and applied.headers["x-request-id"] == "req-applied-1"
            applied_id = applied.json()["task_id"]
            ghost = {"items": [{"id": "ghost", "name": "G"}]}
            failing = await http.patch(
                "/v2/items?key=acme&notification_email=ops@example.com",
                json=ghost,
                headers={**split.auth(), "X-Request-Id": "req-failing-2"},
            )
            assert failing.status_code == 200, failing.text
            failing_id = failing.json()["task_id"]

            worker_log: Path = split.worker.log_path  # type: ignore[attr-defined]
            front_log: Path = split.front.log_path  # type: ignore[attr-defined]

            async def worker_lines() -> list[dict[str, Any]]:
                return lines(worker_log)

            await eventually(
                worker_lines,
                lambda entries: (
                    find(entries, task_id=applied_id, message=f"task {applied_id} done")
                    and find(entries, task_id=failing_id, logger="service.notify")
                ),
                timeout=30,
            )
            await eventually(lambda: asyncio.sleep(0, len(received)), lambda n: n == 1)
    finally:
        mailbox.stop()

    front, worker = lines(front_log), lines(worker_log)
    assert all(RFC3339_MS.fullmatch(e["ts"]) for e in front + worker)

    # The gateway's access line: method, route template, status, duration, bytes, and the token's tenant.
    [http_line] = find(front, logger="catalog_ingest.access.http", request_id="req-applied-1")
    assert http_line["method"] == "PUT" and http_line["route"] == "/v2/{collection}" and http_line["status"] == 200
    assert http_line["bytes_in"] == len(applied.request.content) and http_line["bytes_out"] == len(applied.content)
    assert http_line["duration_ms"] > 0 and http_line["tenant"] == "acme"
    # The gRPC server's: the caller, the task it enqueued and its catalog are known there.
    rpcs = find(front, logger="catalog_ingest.access.grpc", request_id="req-applied-1")
    [rpc_line] = find(rpcs, method="/catalogingest.v1.CatalogService/ReplaceRecords")
    assert rpc_line["code"] == "OK"
    assert (rpc_line["tenant"], rpc_line["task_id"], rpc_line["catalog"]) == ("acme", applied_id, "Products")
    assert rpc_line["bytes_in"] > 0 and rpc_line["bytes_out"] > 0
    # The worker's, in another process, from the id stored with the task.
    task_lines = find(worker, task_id=applied_id)
    assert [e["message"] for e in task_lines] == [
        f"task {applied_id} (records_replace) started, attempt 1",
        f"task {applied_id} done",
    ]
    for entry in task_lines:
        assert (entry["request_id"], entry["tenant"], entry["catalog"]) == ("req-applied-1", "acme", "Products")
    # The failed task's lines and the notice it sent carry the other request's id.
    failed_lines = find(worker, task_id=failing_id, request_id="req-failing-2", tenant="acme", catalog="Products")
    assert any(e["logger"] == "service.notify" and "ops@example.com" in e["message"] for e in failed_lines)
    assert f"task {failing_id} failed" in " ".join(e["message"] for e in failed_lines)


async def test_all_roles_in_one_process_on_either_backend(database_url, processes) -> None:
    async with (
        split_deployment(database_url, processes, log_level="INFO", together=True) as one,
        httpx.AsyncClient(base_url=one.http_url) as http,
    ):
        response = await http.put(
            "/v2/items?key=acme", json={"items": [{"id": "a"}]}, headers={**one.auth(), "X-Request-Id": "req-one-3"}
        )
        assert response.status_code == 200, response.text
        task_id = response.json()["task_id"]
        log: Path = one.front.log_path  # type: ignore[attr-defined]

        async def entries() -> list[dict[str, Any]]:
            return find(lines(log), request_id="req-one-3")

        mine = await eventually(entries, lambda found: find(found, message=f"task {task_id} done"), timeout=30)
    loggers = {e["logger"] for e in mine}
    assert {"catalog_ingest.access.http", "catalog_ingest.access.grpc", "service.tasks.worker"} <= loggers
    assert all(e["tenant"] == "acme" for e in mine)
    assert all(
        e["task_id"] == task_id and e["catalog"] == "Products" for e in find(mine, logger="service.tasks.worker")
    )


def test_format_follows_the_terminal_and_can_be_forced() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("INFO", "auto", Terminal())
        assert isinstance(root.handlers[0].formatter, TextFormatter)
        configure_logging("INFO", "auto", io.StringIO())
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
        configure_logging("INFO", "json", Terminal())
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
        stream = io.StringIO()
        configure_logging("INFO", "text", stream)
        log_context.bind(task_id=7, catalog="Products")
        logging.getLogger("t").info("hello")
        assert RFC3339_MS.match(stream.getvalue())
        assert stream.getvalue().rstrip().endswith("t: hello  task_id=7 catalog=Products")
    finally:
        log_context.reset()
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
