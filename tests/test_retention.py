"""Retention (issue 12): payloads go when their task finishes (FAILED ones after a while), finished tasks and
idempotency keys after theirs, by the workers' periodic job and by `catalog-ingest tasks purge`; disk use stays
flat over repeated full syncs of one catalog. Both backends, the real service and the real CLI."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from service.bench.retention import MAX_RATIO, measure
from service.bench.synthetic import FILES, CatalogShape
from tests.conftest import start_stack
from tests.helpers import eventually
from tests.processes import ROOT

FINISHED = ("DONE", "FAILED", "CANCELED")
BAD_ITEMS = (ROOT / "examples" / "items_bad.csv").read_bytes()


async def put_catalog(stack: Any, files: dict[str, bytes], **params: str) -> int:
    response = await stack.http.put(
        "/v1/catalog",
        params={"force": "true", **params},
        files={name: (f"{name}.csv", body, "text/csv") for name, body in files.items()},
        headers=stack.auth(),
    )
    assert response.status_code == 200, response.text
    return response.json()["task_id"]


async def task_json(stack: Any, task_id: int) -> httpx.Response:
    return await stack.http.get(f"/v1/task/{task_id}", headers=stack.auth())


async def finished(stack: Any, task_id: int) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        return (await task_json(stack, task_id)).json()

    return await eventually(probe, lambda task: task.get("status") in FINISHED)


async def payload_chunks(stack: Any, task_id: int) -> int:
    async with stack.engine.connect() as conn:
        found = await conn.execute(text("SELECT count(*) FROM task_payloads WHERE task_id = :t"), {"t": task_id})
        return found.scalar_one()


def synthetic(items: int) -> dict[str, bytes]:
    shape = CatalogShape(items=items)
    return {name: b"".join(generate(shape)) for name, generate in FILES.items()}


async def test_a_done_task_loses_its_payload_and_keeps_its_status_and_result(database_url) -> None:
    async with start_stack(database_url) as stack:
        task_id = await put_catalog(stack, synthetic(50))
        task = await finished(stack, task_id)
        assert task["status"] == "DONE", task
        assert await payload_chunks(stack, task_id) == 0
        # Still readable as before: status, times and the result's counts.
        again = (await task_json(stack, task_id)).json()
        assert again["status"] == "DONE" and again["finish_time"]
        assert again == task


async def test_failed_and_canceled_tasks_keep_their_payloads(database_url) -> None:
    """Both can be retried (POST /v1/tasks/{id}:retry), for CATALOG_INGEST_FAILED_PAYLOAD_RETENTION_SECONDS."""
    async with start_stack(database_url) as stack:
        failed = await put_catalog(stack, {"items": BAD_ITEMS})
        assert (await finished(stack, failed))["status"] == "FAILED"
        assert await payload_chunks(stack, failed) > 0, "a FAILED task's payload is kept for inspection"
    async with start_stack(database_url, worker=False) as stack:
        queued = await put_catalog(stack, synthetic(10))
        assert await payload_chunks(stack, queued) > 0
        canceled = await stack.http.post(f"/v1/tasks/{queued}:cancel", headers=stack.auth())
        assert canceled.status_code == 200, canceled.text
        assert (await task_json(stack, queued)).json()["status"] == "CANCELED"
        assert await payload_chunks(stack, queued) > 0, "a CANCELED task's payload is kept to retry it"


async def test_disk_use_stays_flat_over_repeated_full_syncs(database_url) -> None:
    """The CI form of `catalog-ingest bench retention` (README, Operations): 5 syncs of 2,000 items."""
    files = synthetic(2000)
    async with start_stack(database_url) as stack:

        async def sync() -> None:
            task = await finished(stack, await put_catalog(stack, files))
            assert task["status"] == "DONE", task

        growth = await measure(stack.engine, sync, 5, report=lambda _line: None)
    assert growth.payload_rows_left == 0
    # What is kept does not grow with the number of syncs: the live data stays one catalog's.
    assert growth.live_ratio <= MAX_RATIO, growth.lines()
    # Disk use: a sync that changes nothing writes no record (its kinds' sync mark moves instead:
    # service.store.sync_marks), so nothing is left for VACUUM and the disk stays one catalog's, on both backends.
    assert growth.ratio <= MAX_RATIO, growth.lines()


async def backdate(stack: Any, task_id: int, days: float) -> None:
    """Make a finished task look `days` old (submitted and finished then)."""
    async with stack.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            then = "now() - make_interval(days => :d)"
        else:
            then = "strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || :d || ' days') || '000'"
        # Both set from the expression: SET sees the row's old values.
        sql = f"UPDATE tasks SET finish_time = {then}, submission_time = {then} WHERE id = :t"
        await conn.execute(text(sql), {"d": days, "t": task_id})


def cli(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": "/usr/bin:/bin", "CATALOG_INGEST_DATABASE_URL": database_url}
    environment |= {f"CATALOG_INGEST_{k.upper()}": v for k, v in env.items()}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "--log-level", "WARNING", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_tasks_purge_removes_what_is_older_and_prints_counts(database_url) -> None:
    async with start_stack(database_url) as stack:
        old = await put_catalog(stack, synthetic(5), key="acme")
        assert (await finished(stack, old))["status"] == "DONE"
        old_failed = await put_catalog(stack, {"items": BAD_ITEMS})
        assert (await finished(stack, old_failed))["status"] == "FAILED"
        recent = await put_catalog(stack, synthetic(5))
        assert (await finished(stack, recent))["status"] == "DONE"
        # An idempotency key past its window, on a task still kept.
        keyed = await stack.http.put(
            "/v2/items",
            content=orjson.dumps({"items": [{"id": "k-1", "name": "K", "data": {}}]}),
            headers={**stack.auth(), "Idempotency-Key": "nightly-1", "Content-Type": "application/json"},
        )
        assert keyed.status_code == 200, keyed.text
        keyed_id = keyed.json()["task_id"]
        await finished(stack, keyed_id)
        for task_id, days in ((old, 10), (old_failed, 10), (keyed_id, 3)):
            await backdate(stack, task_id, days)

        done = await asyncio.to_thread(cli, database_url, "tasks", "purge", "--older-than", "7d", "--json")
        assert done.returncode == 0, done.stderr
        assert orjson.loads(done.stdout) == {
            "tasks": 2,
            "payload_chunks": 1,  # the FAILED task's; the DONE ones lost theirs when they finished
            "ingestions": 0,
            "idempotency_keys": 1,
            "record_changes": 0,
        }
        assert (await task_json(stack, old)).status_code == 404
        assert (await task_json(stack, old_failed)).status_code == 404
        assert (await task_json(stack, recent)).json()["status"] == "DONE"
        assert (await task_json(stack, keyed_id)).json()["status"] == "DONE"
        async with stack.engine.connect() as conn:
            key = await conn.execute(text("SELECT idempotency_key FROM tasks WHERE id = :t"), {"t": keyed_id})
            assert key.scalar_one() is None

        again = await asyncio.to_thread(cli, database_url, "tasks", "purge", "--older-than", "7d")
        assert again.returncode == 0, again.stderr
        assert (
            again.stdout.strip()
            == "removed 0 tasks, 0 payload chunks, 0 ingestions, 0 idempotency keys, 0 record changes"
        )


def test_tasks_purge_refuses_less_than_the_idempotency_window(database_url) -> None:
    done = cli(database_url, "tasks", "purge", "--older-than", "2h")
    assert done.returncode == 2
    assert "CATALOG_INGEST_IDEMPOTENCY_WINDOW_SECONDS" in done.stderr and "Traceback" not in done.stderr
    bad = cli(database_url, "tasks", "purge", "--older-than", "soon")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "'soon' is not a duration" in bad.stderr


async def test_the_workers_purge_finished_tasks_and_failed_payloads_on_their_own(database_url) -> None:
    async with start_stack(
        database_url,
        idempotency_window_seconds=1,
        task_retention_seconds=3,
        failed_payload_retention_seconds=1,
        task_purge_interval_seconds=0.2,
    ) as stack:
        failed = await put_catalog(stack, {"items": BAD_ITEMS})
        assert (await finished(stack, failed))["status"] == "FAILED"
        # The payload goes after its retention; the task stays readable until its own.
        await eventually(lambda: payload_chunks(stack, failed), lambda n: n == 0)
        assert (await task_json(stack, failed)).json()["status"] == "FAILED"
        await eventually(lambda: task_json(stack, failed), lambda r: r.status_code == 404)
