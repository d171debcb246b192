"""Every error a task finds, served as JSON pages, a JSONL download and over gRPC; on_invalid=SKIP (issue 14).

Over real HTTP and gRPC on both backends: a CSV with 3 bad rows among 10,000 reports exactly those rows, whose
JSONL lines, fixed, are sent again and succeed; a JSON write's bad records are each named; SKIP applies the rest;
the cap keeps the count exact; pages; another tenant's task is 404.
"""

from __future__ import annotations

import csv
import io
import json

import grpc
import pytest

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from tests.batch_helpers import add, ingest, new_version, scope, wait_ingestion
from tests.conftest import start_stack
from tests.helpers import eventually
from tests.test_bulk_existence import worker
from tests.test_bulk_items import applied, bulk_stack, define, send

BAD_ROWS = {1500: ("suggested_score", "lots"), 4000: ("active", "maybe"), 9999: ("suggested_score", "nan")}


def items_csv(count: int, bad: dict[int, tuple[str, str]]) -> str:
    """`count` items; a row number in `bad` (1-based, the header is row 1) gets that column's bad value."""
    lines = ["id,item_name,suggested_score,active"]
    for row in range(2, count + 2):
        cells = {"id": f"item-{row}", "item_name": f"Item {row}", "suggested_score": "1.5", "active": "true"}
        if row in bad:
            column, value = bad[row]
            cells[column] = value
        lines.append(",".join(cells.values()))
    return "\n".join(lines) + "\n"


async def upload(stack, method: str, items: str, **params: str) -> int:
    response = await stack.http.request(
        method,
        "/v1/catalog",
        params={"key": "acme", **params},
        files={"items": ("items.csv", items.encode(), "text/csv")},
        headers=stack.auth(),
    )
    assert response.status_code == 200, response.text
    return response.json()["task_id"]


async def finished(stack, task_id: int, tenant: str = "acme") -> dict:
    async def probe() -> dict:
        return (await stack.http.get(f"/v1/tasks/{task_id}", headers=stack.auth(tenant))).json()

    return await eventually(probe, lambda task: task.get("status") in ("DONE", "FAILED"), timeout=120)


async def errors_of(stack, path: str, **params: str) -> dict:
    response = await stack.http.get(path, params=params, headers=stack.auth())
    assert response.status_code == 200, response.text
    return response.json()


async def jsonl_of(stack, path: str, **params: str) -> list[dict]:
    response = await stack.http.get(path, params=params, headers=stack.auth())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


async def test_a_csv_with_three_bad_rows_reports_exactly_them_and_the_fixed_lines_succeed(http_stack) -> None:
    task_id = await upload(http_stack, "PUT", items_csv(10_000, BAD_ROWS))
    task = await finished(http_stack, task_id)
    assert task["status"] == "FAILED" and task["error_count"] == 3, task
    assert task["error"]["row"] == 1500 and "3 errors" in task["error"]["message"]

    listed = await errors_of(http_stack, f"/v1/tasks/{task_id}/errors")
    assert listed["total_size"] == 3 and listed["next_page_token"] == ""
    errors = listed["errors"]
    assert [(e["file"], e["row"], e["column"], e["record_id"]) for e in errors] == [
        ("items.csv", 1500, "suggested_score", "item-1500"),
        ("items.csv", 4000, "active", "item-4000"),
        ("items.csv", 9999, "suggested_score", "item-9999"),
    ]
    assert [e["reason"] for e in errors] == ["INVALID_CSV", "INVALID_CSV", "INVALID_NUMBER"]
    assert errors[0]["record"] == {
        "id": "item-1500",
        "item_name": "Item 1500",
        "suggested_score": "lots",
        "active": "true",
    }
    # All or nothing: nothing of the file was applied.
    records = await http_stack.http.get("/v2/items", params={"key": "acme"}, headers=http_stack.auth())
    assert records.json()["items"] == []

    lines = await jsonl_of(http_stack, f"/v1/tasks/{task_id}/errors.jsonl")
    assert lines == errors
    # Fix each line's record and send the rows again, as a CSV delta.
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(lines[0]["record"]))
    writer.writeheader()
    for line in lines:
        writer.writerow(line["record"] | {line["column"]: {"active": "false"}.get(line["column"], "2.5")})
    fixed = await finished(http_stack, await upload(http_stack, "PATCH", out.getvalue()))
    assert fixed["status"] == "DONE" and fixed["result"]["items"]["created"] == 3, fixed
    assert "error_count" not in fixed  # unset when the task found no error


async def test_on_invalid_skip_applies_the_valid_rows_and_reports_the_rejected(http_stack) -> None:
    bad = {3: ("active", "maybe"), 7: ("suggested_score", "x")}
    task_id = await upload(http_stack, "PUT", items_csv(10, bad), on_invalid="SKIP")
    task = await finished(http_stack, task_id)
    assert task["status"] == "DONE", task
    assert task["result"]["items"]["created"] == 8 and task["result"]["items"]["rejected"] == 2
    assert task["error_count"] == 2
    errors = (await errors_of(http_stack, f"/v1/tasks/{task_id}/errors"))["errors"]
    assert [e["record_id"] for e in errors] == ["item-3", "item-7"]

    # A sync whose refused rows name stored records keeps them: the 50% guard counts only real deletions.
    bad = {row: ("suggested_score", "x") for row in range(2, 8)}  # 6 of 10 rows refused
    task = await finished(http_stack, await upload(http_stack, "PUT", items_csv(10, bad), on_invalid="SKIP"))
    assert task["status"] == "DONE", task
    assert task["result"]["items"]["deleted"] == 0 and task["result"]["items"]["rejected"] == 6
    listed = await http_stack.http.get(
        "/v2/items", params={"key": "acme", "num_results_per_page": 100}, headers=http_stack.auth()
    )
    assert len(listed.json()["items"]) == 8  # the 8 the first sync created (items 3 and 7 were refused there)


async def test_a_json_write_names_each_bad_record_and_skip_applies_the_rest(http_stack) -> None:
    items = [
        {"id": "ok-1", "name": "One"},
        {"id": "bad/2", "name": "Two"},
        {"id": "ok-3", "name": "Three"},
        {"id": " bad-4", "data": {"url": "/p/4"}},
        {"id": "bad-5", "context": "a/b", "data": {"url": "/p/5"}},
    ]
    response = await http_stack.http.put(
        "/v2/items", params={"key": "acme", "on_invalid": "SKIP"}, json={"items": items}, headers=http_stack.auth()
    )
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"]
    task = await finished(http_stack, task_id)
    assert task["status"] == "DONE", task
    assert task["result"]["items"]["created"] == 2 and task["result"]["items"]["rejected"] == 3
    errors = (await errors_of(http_stack, f"/v1/tasks/{task_id}/errors"))["errors"]
    assert [(e["record_id"], e["column"], e["reason"]) for e in errors] == [
        ("bad/2", "records[1].id", "INVALID_RECORD"),
        (" bad-4", "records[3].id", "INVALID_RECORD"),
        ("bad-5", "records[4].context", "INVALID_RECORD"),
    ]
    assert errors[2]["record"] == {"id": "bad-5", "context": "a/b", "data": {"url": "/p/5"}}

    # The download's records, fixed, are a valid /v2 write.
    lines = await jsonl_of(http_stack, f"/v1/tasks/{task_id}/errors.jsonl")
    fixed = [
        {"id": f"fixed-{i}", **{k: v for k, v in line["record"].items() if k not in ("id", "context")}}
        for i, line in enumerate(lines)
    ]
    response = await http_stack.http.put(
        "/v2/items", params={"key": "acme"}, json={"items": fixed}, headers=http_stack.auth()
    )
    assert response.status_code == 200, response.text
    task = await finished(http_stack, response.json()["task_id"])
    assert task["status"] == "DONE" and task["result"]["items"]["created"] == 3, task


@pytest.fixture
async def capped_stack(database_url: str):
    async with start_stack(database_url, max_reported_errors=5) as running:
        yield running


async def test_the_cap_keeps_the_count_exact_and_pages_over_rest_and_grpc(capped_stack) -> None:
    stack = capped_stack
    bad = {row: ("active", "maybe") for row in range(2, 14)}  # 12 bad rows
    task_id = await upload(stack, "PUT", items_csv(20, bad))
    task = await finished(stack, task_id)
    assert task["status"] == "FAILED" and task["error_count"] == 12

    first = await errors_of(stack, f"/v1/tasks/{task_id}/errors", page_size="2")
    assert first["total_size"] == 12 and len(first["errors"]) == 2 and first["next_page_token"]
    rows, token = [], ""
    while True:
        page = await stack.tasks.ListTaskErrors(
            task_pb2.ListTaskErrorsRequest(id=task_id, page_size=2, page_token=token), metadata=stack.metadata()
        )
        assert page.total_size == 12
        rows += [error.row for error in page.errors]
        token = page.next_page_token
        if not token:
            break
    assert rows == [2, 3, 4, 5, 6]  # the first 5 (CATALOG_INGEST_MAX_REPORTED_ERRORS) are kept
    assert len(await jsonl_of(stack, f"/v1/tasks/{task_id}/errors.jsonl")) == 5

    # Another tenant's task is not found, like a task that does not exist.
    other = await stack.http.get(f"/v1/tasks/{task_id}/errors", headers=stack.auth("globex"))
    assert other.status_code == 404
    other = await stack.http.get(f"/v1/tasks/{task_id}/errors.jsonl", headers=stack.auth("globex"))
    assert other.status_code == 404
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.tasks.ListTaskErrors(task_pb2.ListTaskErrorsRequest(id=task_id), metadata=stack.metadata("globex"))
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    bad_token = await stack.http.get(f"/v1/tasks/{task_id}/errors", params={"page_token": "nope"}, headers=stack.auth())
    assert bad_token.status_code == 400


async def test_grpc_record_writes_take_on_invalid_skip(stack) -> None:
    records = [
        record_pb2.Record(id="a", name="A"),
        record_pb2.Record(id="", name="no id"),
        record_pb2.Record(id="c", name="C", data_json='{"url": "/c"}'),
    ]
    answer = await stack.catalog.ReplaceRecords(
        catalog_pb2.ReplaceRecordsRequest(collection="items", records=records, on_invalid=catalog_pb2.ON_INVALID_SKIP),
        metadata=stack.metadata(),
    )

    async def probe() -> task_pb2.Task:
        return (await stack.tasks.GetTask(task_pb2.GetTaskRequest(id=answer.task_id), metadata=stack.metadata())).task

    task = await eventually(probe, lambda t: t.status in (task_pb2.TASK_STATUS_DONE, task_pb2.TASK_STATUS_FAILED))
    assert task.status == task_pb2.TASK_STATUS_DONE and task.result.items.rejected == 1 and task.error_count == 1
    page = await stack.tasks.ListTaskErrors(
        task_pb2.ListTaskErrorsRequest(id=answer.task_id), metadata=stack.metadata()
    )
    assert [e.column for e in page.errors] == ["records[1].id"]
    assert page.errors[0].record.struct_value["name"] == "no id"

    # Without SKIP the write is refused whole, as documented.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.catalog.ReplaceRecords(
            catalog_pb2.ReplaceRecordsRequest(collection="items", records=records), metadata=stack.metadata()
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_an_ingestion_lists_every_failed_item_with_its_reason(http_stack) -> None:
    stack = http_stack
    version = await new_version(stack)
    batch = [
        {"id": "p1", "type": "product", "attributes": {"title": "P1"}},
        *({"id": f"v{i}", "type": "variant", "parentId": "ghost", "attributes": {"n": i}} for i in range(7)),
    ]
    await add(stack, batch, version)
    ingestion_id = await ingest(
        stack,
        {"catalogVersion": version, "minItemCount": 0, "minSuccessRatePercent": 0, "source": "api"},
    )
    status = await wait_ingestion(stack, ingestion_id)
    assert status["status"] == "SUCCESS" and status["itemErrorCount"] == 7, status
    # The documented summary keeps its shape: one sample message per type, at most 5 ids.
    assert len(status["itemErrorsSummary"]["MISSING_PARENT"]["sampleIds"]) == 5

    path = f"/batch-imports/ingestions/{ingestion_id}/errors"
    listed = await errors_of(stack, path, **scope(), pageSize="4")
    assert listed["totalSize"] == 7 and len(listed["errors"]) == 4 and listed["nextPageToken"]
    rest = await errors_of(stack, path, **scope(), pageToken=listed["nextPageToken"])
    errors = listed["errors"] + rest["errors"]
    assert [e["recordId"] for e in errors] == [f"v{i}" for i in range(7)]
    assert {e["reason"] for e in errors} == {"MISSING_PARENT_ITEM"}
    assert errors[3]["record"] == {
        "id": "v3",
        "type": "variant",
        "context": "",
        "parentId": "ghost",
        "attributes": {"n": 3},
    }
    assert await jsonl_of(stack, f"{path}.jsonl", **scope()) == errors
    other = await stack.http.get(path, params=scope(tenant="globex"), headers=stack.auth("globex"))
    assert other.status_code == 404, other.text


async def test_a_bulk_upsert_names_each_item_it_could_not_create(database_url) -> None:
    """Existence decided when the task runs (a task ahead, no worker yet): each refused item is a task error."""
    async with bulk_stack(database_url, worker=False) as s:
        await define(s, "req", [{"name": "sku", "type": "string", "required": True}, {"name": "n", "type": "number"}])
        path = "/data/v2/projects/acme/catalogs/req/items"
        _, put = await send(s, "PUT", path, [{"item_id": "a", "properties": {"sku": "A"}}])
        body = [{"item_id": i, "properties": {"n": 2}} for i in ("a", "b", "c")]
        _, update = await send(s, "POST", path + "/partial-update", body, upsert="true")
        async with worker(s):
            await applied(s, put)
            task = await applied(s, update)
        assert task.result.items.rejected == 2 and task.error_count == 2
        page = await s.tasks.ListTaskErrors(task_pb2.ListTaskErrorsRequest(id=update), metadata=s.metadata())
        assert [(e.record_id, e.reason) for e in page.errors] == [("b", "INVALID_RECORD"), ("c", "INVALID_RECORD")]
        assert "sku" in page.errors[0].message
        assert dict(page.errors[1].record.struct_value) == {"item_id": "c", "properties": {"n": 2.0}}


async def test_a_record_stream_with_on_invalid_skip_names_each_bad_record_by_its_place(stack) -> None:
    def batch(*ids: str) -> catalog_pb2.StreamRecordsRequest:
        records = [record_pb2.Record(id=i, name=i.upper()) for i in ids]
        return catalog_pb2.StreamRecordsRequest(batch=record_pb2.RecordBatch(records=records))

    async def requests():
        yield catalog_pb2.StreamRecordsRequest(
            header=catalog_pb2.StreamRecordsHeader(
                collection="items", mode=catalog_pb2.WRITE_MODE_REPLACE, on_invalid=catalog_pb2.ON_INVALID_SKIP
            )
        )
        yield batch("a", "b/1", "c")
        yield batch("d", "e", " f")

    answer = await stack.catalog.StreamRecords(requests(), metadata=stack.metadata())
    assert answer.records_received == 6

    async def probe() -> task_pb2.Task:
        return (await stack.tasks.GetTask(task_pb2.GetTaskRequest(id=answer.task_id), metadata=stack.metadata())).task

    task = await eventually(probe, lambda t: t.status in (task_pb2.TASK_STATUS_DONE, task_pb2.TASK_STATUS_FAILED))
    assert task.status == task_pb2.TASK_STATUS_DONE, task
    assert (task.result.items.created, task.result.items.rejected) == (4, 2)
    page = await stack.tasks.ListTaskErrors(
        task_pb2.ListTaskErrorsRequest(id=answer.task_id), metadata=stack.metadata()
    )
    assert [(e.record_id, e.column) for e in page.errors] == [("b/1", "records[1].id"), (" f", "records[5].id")]


async def test_every_variation_naming_a_missing_item_is_reported(http_stack) -> None:
    """A check against the catalog (the variation's item must exist once applied) lists every record it fails,
    in file order, not the first: three orphans among valid rows, and a JSON write's two."""
    items = "id,item_name\nshirt,Shirt\n"
    variations = "variation_id,item_id,item_name\nv1,shirt,S\nv2,ghost-a,M\nv3,shirt,L\nv4,ghost-b,XL\nv5,ghost-c,XXL\n"
    response = await http_stack.http.put(
        "/v1/catalog",
        params={"key": "acme"},
        files={
            "items": ("items.csv", items.encode(), "text/csv"),
            "variations": ("variations.csv", variations.encode(), "text/csv"),
        },
        headers=http_stack.auth(),
    )
    assert response.status_code == 200, response.text
    task = await finished(http_stack, response.json()["task_id"])
    assert task["status"] == "FAILED" and task["error_count"] == 3, task
    listed = (await errors_of(http_stack, f"/v1/tasks/{task['id']}/errors"))["errors"]
    assert [(e["file"], e["row"], e["column"], e["record_id"], e["reason"]) for e in listed] == [
        ("variations.csv", row, "item_id", rid, "MISSING_PARENT_ITEM") for row, rid in ((3, "v2"), (5, "v4"), (6, "v5"))
    ]
    assert (await http_stack.http.get("/v2/items", params={"key": "acme"}, headers=http_stack.auth())).json()[
        "items"
    ] == []

    response = await http_stack.http.put(
        "/v2/variations",
        params={"key": "acme"},
        json={"variations": [{"id": "w1", "item_id": "nope-1"}, {"id": "w2", "item_id": "nope-2"}]},
        headers=http_stack.auth(),
    )
    assert response.status_code == 200, response.text
    task = await finished(http_stack, response.json()["task_id"])
    assert task["status"] == "FAILED" and task["error_count"] == 2, task
    listed = (await errors_of(http_stack, f"/v1/tasks/{task['id']}/errors"))["errors"]
    assert [(e["record_id"], e["reason"]) for e in listed] == [
        ("w1", "MISSING_PARENT_ITEM"),
        ("w2", "MISSING_PARENT_ITEM"),
    ]
