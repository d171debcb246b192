"""The model test's calls: each documented write path as a client sends it, and the read-back over REST and gRPC."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any
from urllib.parse import quote

import grpc

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from service.tasks.worker import Worker
from tests.helpers import FINISHED, eventually
from tests.model.operations import CsvFile
from tests.model.reference import COLLECTIONS, GROUP, VARIATION

TENANT = "acme"
FILE_KEYS = {1: "items", 2: "variations", 3: "item_groups"}


class WorkerControl:
    """The stack's one worker, which the machine stops so that writes queue up (FIFO, cancel, R7)."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.settings = dataclasses.replace(stack.settings, worker_poll_interval=0.05)
        self.stop_event: asyncio.Event | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.task is not None and not self.task.done():
            return
        self.stop_event = asyncio.Event()
        self.task = asyncio.create_task(Worker(self.stack.engine, self.settings).run(self.stop_event))

    async def stop(self) -> None:
        if self.task is not None and self.stop_event is not None:
            self.stop_event.set()
            await self.task
            self.task = None


def render_csv(file: CsvFile) -> bytes:
    """RFC 4180: every non-blank cell quoted, quotes doubled, CRLF line ends."""

    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if value else ""

    lines = [",".join(cell(c) for c in row) for row in [file.header, *file.rows]]
    return ("\r\n".join(lines) + "\r\n").encode()


async def csv_upload(stack: Any, catalog: str, files: list[CsvFile], *, sync: bool, patch: bool, force: bool) -> Any:
    params: dict[str, str] = {"key": TENANT, "section": catalog}
    if force:
        params["force"] = "true"
    if patch:
        params["patch_delta"] = "true"
    multipart = {FILE_KEYS[f.kind]: (f"{FILE_KEYS[f.kind]}.csv", render_csv(f), "text/csv") for f in files}
    return await stack.http.request(
        "PUT" if sync else "PATCH", "/v1/catalog", params=params, files=multipart, headers=stack.auth()
    )


def multipart(files: list[CsvFile], boundary: str) -> tuple[bytes, bytes]:
    """A multipart body built by hand, so that a test can cut it: (the parts, the closing boundary)."""
    body = b""
    for f in files:
        name = FILE_KEYS[f.kind]
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.csv"\r\n'
                "Content-Type: text/csv\r\n\r\n"
            ).encode()
            + render_csv(f)
            + b"\r\n"
        )
    return body, f"--{boundary}--\r\n".encode()


async def raw_upload(stack: Any, catalog: str, body: bytes, boundary: str, *, sync: bool, **params: str) -> Any:
    """R10: a body as a client that crashed mid-upload sends it."""
    return await stack.http.request(
        "PUT" if sync else "PATCH",
        "/v1/catalog",
        params={"key": TENANT, "section": catalog, **params},
        content=body,
        headers={**stack.auth(), "content-type": f"multipart/form-data; boundary={boundary}"},
    )


async def task_count(stack: Any, catalog: str) -> int:
    listed = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(section=catalog), metadata=stack.metadata())
    return listed.total_count


async def records_write(stack: Any, catalog: str, verb: str, kind: int, records: list[dict], on_missing: str) -> Any:
    params = {"key": TENANT, "section": catalog}
    if verb == "PATCH":
        params["on_missing"] = on_missing
    collection = COLLECTIONS[kind]
    return await stack.http.request(
        verb, f"/v2/{collection}", params=params, json={collection: records}, headers=stack.auth()
    )


async def bulk_write(stack: Any, catalog: str, items: list[dict], *, partial: bool, upsert: bool) -> Any:
    path = f"/data/v2/projects/{TENANT}/catalogs/{catalog}/items"
    if partial:
        return await stack.http.post(
            path + "/partial-update", params={"upsert": str(upsert).lower()}, json=items, headers=stack.auth()
        )
    return await stack.http.put(path, json=items, headers=stack.auth())


def scope(catalog: str, **extra: Any) -> dict[str, Any]:
    return {"tenant": TENANT, "environment": catalog, **extra}


async def batch_write(stack: Any, catalog: str, op: str, batch_id: str, items: list[dict]) -> Any:
    method, path = {
        "add": ("POST", "/batch-imports/items"),
        "modify": ("PATCH", "/batch-imports/items"),
        "delete": ("POST", "/batch-imports/items/delete"),
    }[op]
    return await stack.http.request(
        method, path, params=scope(catalog, batch_id=batch_id), json=items, headers=stack.auth()
    )


async def call(stack: Any, method: str, path: str, catalog: str, **kwargs: Any) -> Any:
    params = scope(catalog, **kwargs.pop("params", {}))
    return await stack.http.request(method, path, params=params, headers=stack.auth(), **kwargs)


async def define_catalog(stack: Any, catalog: str, fields: list[dict]) -> None:
    response = await stack.http.post(
        f"/data/v2/projects/{TENANT}/catalogs", json={"name": catalog, "fields": fields}, headers=stack.auth()
    )
    assert response.status_code == 200, response.text


async def newest_task(stack: Any, catalog: str) -> int:
    listed = await stack.tasks.ListTasks(
        task_pb2.ListTasksRequest(section=catalog, num_results_per_page=1), metadata=stack.metadata()
    )
    return listed.tasks[0].id


async def cancel(stack: Any, task_id: int) -> None:
    await stack.tasks.CancelTask(task_pb2.CancelTaskRequest(id=task_id), metadata=stack.metadata())


async def finished(stack: Any, task_ids: list[int]) -> dict[int, task_pb2.Task]:
    out: dict[int, task_pb2.Task] = {}
    for task_id in task_ids:

        async def probe(task_id: int = task_id) -> task_pb2.Task:
            response = await stack.tasks.GetTask(task_pb2.GetTaskRequest(id=task_id), metadata=stack.metadata())
            return response.task

        # Generous: a full suite on a 2-core CI machine can hold a task queued for tens of seconds; a task that
        # never finishes still fails the test.
        out[task_id] = await eventually(probe, lambda t: t.status in FINISHED, timeout=120)
    return out


def proto_view(record: record_pb2.Record) -> dict[str, Any]:
    """A ListRecords record in the model's view shape (written here, not borrowed from the gateway)."""
    out: dict[str, Any] = {"id": record.id, "name": record.name if record.HasField("name") else None}
    if record.HasField("suggested_score"):
        out["suggested_score"] = record.suggested_score
    if record.kind == VARIATION:
        out["item_id"] = record.item_id if record.HasField("item_id") else None
    if record.kind == GROUP:
        out["parent_ids"] = list(record.parent_ids)
    if record.context:
        out["context"] = record.context
    out["data"] = json.loads(record.data_json) if record.data_json else {}
    return out


async def _histories(
    stack: Any, catalog: str, collection: str, versions: dict[tuple[str, str], tuple[int, bool]]
) -> dict[tuple[str, str], Any]:
    """Each record's newest changes, as many as its version counts (their operations, newest first)."""

    async def one(key: tuple[str, str], version: int) -> Any:
        response = await stack.http.get(
            f"/v2/{collection}/{quote(key[0], safe='')}/history",
            params={"section": catalog, "context": key[1], "num_results_per_page": version},
            headers=stack.auth(),
        )
        if response.status_code != 200:
            return f"HTTP {response.status_code}: {response.text[:300]}"
        return [c["operation"] for c in response.json()["changes"]]

    keys = list(versions)
    found = await asyncio.gather(*(one(key, versions[key][0]) for key in keys))
    return dict(zip(keys, found, strict=True))


async def read_back(stack: Any, catalog: str) -> dict[str, Any]:
    """The active version over REST and gRPC, and the catalog's versions; a failed read is a value, not a raise."""
    out: dict[str, Any] = {}
    for collection in COLLECTIONS.values():
        response = await stack.http.get(
            f"/v2/{collection}", params={"section": catalog, "num_results_per_page": 1000}, headers=stack.auth()
        )
        if response.status_code != 200:
            out[f"rest {collection}"] = f"HTTP {response.status_code}: {response.text[:300]}"
        else:
            rest = {(r["id"], r.get("context", "")): r for r in response.json()[collection]}
            # Versions are compared across the two APIs (each >= 1), not with the model: its records' content.
            out[f"rest {collection} versions"] = {
                key: (r.pop("version"), bool(r.pop("update_time"))) for key, r in rest.items()
            }
            out[f"rest {collection}"] = rest
            versions = out[f"rest {collection} versions"]
            out[f"rest {collection} history"] = await _histories(stack, catalog, collection, versions)
        try:
            listed = await stack.catalog.ListRecords(
                catalog_pb2.ListRecordsRequest(section=catalog, collection=collection, num_results_per_page=1000),
                metadata=stack.metadata(),
            )
            out[f"grpc {collection}"] = {(r.id, r.context): proto_view(r) for r in listed.records}
            out[f"grpc {collection} versions"] = {
                (r.id, r.context): (r.version, r.HasField("update_time")) for r in listed.records
            }
        except grpc.aio.AioRpcError as error:
            out[f"grpc {collection}"] = f"{error.code().name}: {error.details()[:300]}"
    response = await stack.http.get("/catalogs", params=scope(catalog), headers=stack.auth())
    out["versions"] = (
        [(v["version"], v["state"], v["itemCount"]) for v in response.json()]
        if response.status_code == 200
        else f"HTTP {response.status_code}: {response.text[:300]}"
    )
    return out
