"""R10: only an upload that ended properly becomes a task (multipart over real HTTP, client streams over gRPC)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from tests.helpers import eventually, stream_is_storing, wait_task

BOUNDARY = "cut-here-7f3a"


def multipart(csv: bytes, name: str = "items") -> bytes:
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.csv"\r\n'
    head += "Content-Type: text/csv\r\n\r\n"
    return head.encode() + csv + f"\r\n--{BOUNDARY}--\r\n".encode()


def items_csv(count: int) -> bytes:
    rows = "".join(f"item-{i},Item {i},{'long description ' * 4}\n" for i in range(count))
    return ("id,item_name,description\n" + rows).encode()


def cuts(body: bytes) -> dict[str, bytes]:
    """The same body cut inside the part headers, inside the data, and just before the closing boundary."""
    data_start = body.index(b"\r\n\r\n") + 4
    closing = body.rindex(f"\r\n--{BOUNDARY}--".encode())
    return {
        "inside the part headers": body[: data_start - 10],
        "inside the data": body[: (data_start + closing) // 2],
        "inside the data at 60%": body[: int(len(body) * 0.6)],
        "right before the closing boundary": body[:closing],
        "after the last boundary, before its closing dashes": body[: closing + len(BOUNDARY) + 4],
    }


async def records(stack) -> list[str]:
    response = await stack.http.get("/v2/items", params={"num_results_per_page": 1000}, headers=stack.auth())
    assert response.status_code == 200, response.text
    return sorted(item["id"] for item in response.json()["items"])


async def _send(stack, method: str, body: bytes, headers: dict[str, str]) -> Any:
    """As a client does: a 429 (the previous cut upload's slot is given back a moment after its 400, when the
    server's handler ends) is sent again after its Retry-After."""
    for _ in range(10):
        response = await stack.http.request(method, "/v1/catalog", content=body, headers=headers)
        if response.status_code != 429:
            return response
        await asyncio.sleep(float(response.headers["Retry-After"]))
    return response


@pytest.mark.parametrize("size", ["small", "over 1 MiB"])
async def test_a_multipart_body_without_its_closing_boundary_is_a_400_and_no_task(http_stack, size: str) -> None:
    auth = http_stack.auth()
    headers = {**auth, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    first = await http_stack.http.put("/v1/catalog", content=multipart(items_csv(3)), headers=headers)
    assert first.status_code == 200, first.text
    assert (await wait_task(http_stack, first.json()["task_id"])).status == task_pb2.TASK_STATUS_DONE
    before = await records(http_stack)

    body = multipart(items_csv(20_000 if size == "over 1 MiB" else 40))
    assert (len(body) > 1024 * 1024) == (size == "over 1 MiB")
    for where, cut in cuts(body).items():
        for method in ("PUT", "PATCH"):
            response = await _send(http_stack, method, cut, headers)
            assert response.status_code == 400, (where, method, response.text)
            message = response.json()["message"]
            assert "closing boundary" in message and "truncated" in message, (where, message)

    tasks = (await http_stack.http.get("/v1/tasks", headers=auth)).json()
    assert tasks["total_count"] == 1, tasks
    assert await records(http_stack) == before


async def test_a_client_stream_cancelled_after_its_data_creates_no_task(stack) -> None:
    """UploadCatalog and StreamRecords: data sent, then the client cancels instead of half-closing."""
    for rpc in ("UploadCatalog", "StreamRecords"):
        call = getattr(stack.catalog, rpc)(metadata=stack.metadata())
        if rpc == "UploadCatalog":
            await call.write(
                catalog_pb2.UploadCatalogRequest(
                    header=catalog_pb2.UploadCatalogHeader(mode=catalog_pb2.UPLOAD_MODE_SYNC)
                )
            )
            csv = items_csv(40_000)  # ~3.6 MB: the server has stored parts of it before the cancel
            for start in range(0, len(csv), 256 * 1024):
                chunk = catalog_pb2.FileChunk(file=record_pb2.RECORD_KIND_ITEM, data=csv[start : start + 256 * 1024])
                await call.write(catalog_pb2.UploadCatalogRequest(chunk=chunk))
        else:
            await call.write(
                catalog_pb2.StreamRecordsRequest(
                    header=catalog_pb2.StreamRecordsHeader(collection="items", mode=catalog_pb2.WRITE_MODE_REPLACE)
                )
            )
            for n in range(20):
                batch = [
                    record_pb2.Record(kind=record_pb2.RECORD_KIND_ITEM, id=f"r{n}-{i}", name="x" * 200)
                    for i in range(1000)
                ]
                await call.write(catalog_pb2.StreamRecordsRequest(batch=record_pb2.RecordBatch(records=batch)))
        # Megabytes written past the flow-control window: the server has read most of them. Cancel, never half-close.
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await eventually(lambda: stream_is_storing(stack), lambda held: not held)

    # A later, complete write is the first task the catalog ever got.
    done = await stack.catalog.ReplaceRecords(
        catalog_pb2.ReplaceRecordsRequest(
            collection="items", records=[record_pb2.Record(kind=record_pb2.RECORD_KIND_ITEM, id="late")]
        ),
        metadata=stack.metadata(),
    )
    await wait_task(stack, done.task_id)

    async def listed() -> task_pb2.ListTasksResponse:
        return await stack.tasks.ListTasks(task_pb2.ListTasksRequest(), metadata=stack.metadata())

    tasks = await eventually(listed, lambda r: r.total_count >= 1)
    assert [t.id for t in tasks.tasks] == [done.task_id], tasks
