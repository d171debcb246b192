"""Full-catalog sync and delta from CSV files over the gRPC upload stream, on both backends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import grpc
import pytest

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from tests.conftest import free_port, start_stack
from tests.helpers import eventually, stream_is_storing, wait_task

ITEMS, VARIATIONS, GROUPS = (
    record_pb2.RECORD_KIND_ITEM,
    record_pb2.RECORD_KIND_VARIATION,
    record_pb2.RECORD_KIND_ITEM_GROUP,
)
SYNC, DELTA = catalog_pb2.UPLOAD_MODE_SYNC, catalog_pb2.UPLOAD_MODE_DELTA

ITEMS_CSV = (
    "id,item_name,url,image_url,description,keywords,group_ids,active,suggested_score,metadata:brand,facet:color\r\n"
    'shoe,"Running shoe, red",https://x.test/shoe,https://x.test/shoe.png,"A ""fast"" shoe",run|shoe,g1|g2,true,4.5,'
    "Acme,red|blue\r\n"
    "hat,Hat,https://x.test/hat,,,,g2,false,,Acme,\r\n"
)
VARIATIONS_CSV = (
    "variation_id,item_id,item_name,active,facet:size\nshoe-42,shoe,Shoe 42,true,42\nshoe-43,shoe,Shoe 43,,43\n"
)
GROUPS_CSV = 'id,name,parent_ids,data\ng1,Shoes,[],"{""rank"": 1}"\ng2,Sale,"[""g1""]",\n'


async def upload(stack, mode: int, files: dict[int, str | bytes], tenant: str = "acme", **header: object) -> int:
    async def messages() -> AsyncIterator[catalog_pb2.UploadCatalogRequest]:
        yield catalog_pb2.UploadCatalogRequest(
            header=catalog_pb2.UploadCatalogHeader(mode=mode, files=list(files), **header)
        )
        for kind, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            for start in range(0, len(data), 7):  # tiny chunks: rows and quoted values cross chunk edges
                yield catalog_pb2.UploadCatalogRequest(
                    chunk=catalog_pb2.FileChunk(file=kind, data=data[start : start + 7])
                )

    response = await stack.catalog.UploadCatalog(messages(), metadata=stack.metadata(tenant))
    return response.task_id


async def records(stack, collection: str, section: str = "Products") -> dict[str, record_pb2.Record]:
    listed = await stack.catalog.ListRecords(
        catalog_pb2.ListRecordsRequest(section=section, collection=collection, num_results_per_page=1000),
        metadata=stack.metadata(),
    )
    return {r.id: r for r in listed.records}


def data(record: record_pb2.Record) -> dict:
    return json.loads(record.data_json)


async def synced(stack) -> None:
    task = await wait_task(
        stack, await upload(stack, SYNC, {ITEMS: ITEMS_CSV, VARIATIONS: VARIATIONS_CSV, GROUPS: GROUPS_CSV})
    )
    assert task.status == task_pb2.TASK_STATUS_DONE, task.error


async def test_sync_of_all_three_files_reads_back_in_one_record_model(stack) -> None:
    task_id = await upload(stack, SYNC, {ITEMS: ITEMS_CSV, VARIATIONS: VARIATIONS_CSV, GROUPS: GROUPS_CSV})
    task = await wait_task(stack, task_id)
    assert task.status == task_pb2.TASK_STATUS_DONE, task.error
    assert task.type == "catalog_sync"
    assert (task.result.items.created, task.result.variations.created, task.result.item_groups.created) == (2, 2, 2)

    items = await records(stack, "items")
    shoe = items["shoe"]
    assert shoe.name == "Running shoe, red" and shoe.suggested_score == 4.5
    assert data(shoe) == {
        "url": "https://x.test/shoe",
        "image_url": "https://x.test/shoe.png",
        "description": 'A "fast" shoe',
        "keywords": ["run", "shoe"],
        "group_ids": ["g1", "g2"],
        "active": True,
        "brand": "Acme",
        "facets": {"color": ["red", "blue"]},
    }
    assert data(items["hat"]) == {"url": "https://x.test/hat", "group_ids": ["g2"], "active": False, "brand": "Acme"}
    assert not items["hat"].HasField("suggested_score")
    variations = await records(stack, "variations")
    assert variations["shoe-42"].item_id == "shoe" and data(variations["shoe-42"]) == {
        "active": True,
        "facets": {"size": ["42"]},
    }
    groups = await records(stack, "item_groups")
    assert list(groups["g2"].parent_ids) == ["g1"] and data(groups["g1"]) == {"rank": 1}


async def test_resync_counts_unchanged_updated_deleted(stack) -> None:
    await synced(stack)
    again = ITEMS_CSV.replace("Hat,", "Cap,")
    task = await wait_task(stack, await upload(stack, SYNC, {ITEMS: again}))
    assert (task.result.items.unchanged, task.result.items.updated, task.result.items.created) == (1, 1, 0)
    smaller = "id,item_name\nshoe,Shoe\nboot,Boot\n"
    task = await wait_task(stack, await upload(stack, SYNC, {ITEMS: smaller}))
    assert task.status == task_pb2.TASK_STATUS_DONE, task.error
    assert (task.result.items.deleted, task.result.items.created, task.result.items.updated) == (1, 1, 1)
    assert set(await records(stack, "items")) == {"shoe", "boot"}


async def test_sync_of_one_kind_keeps_the_others(stack) -> None:
    await synced(stack)
    # Deleting g2, which the hat still names in group_ids, is refused (R2: links between records).
    task = await wait_task(stack, await upload(stack, SYNC, {GROUPS: "id,name\ng1,Shoes\ng3,New\n"}))
    assert (task.status, task.error.reason, task.error.record_id) == (
        task_pb2.TASK_STATUS_FAILED,
        "MISSING_GROUP",
        "hat",
    )
    task = await wait_task(stack, await upload(stack, SYNC, {GROUPS: "id,name\ng1,Shoes\ng2,Sale\ng3,New\n"}))
    assert task.status == task_pb2.TASK_STATUS_DONE, task.error
    assert set(await records(stack, "item_groups")) == {"g1", "g2", "g3"}
    assert set(await records(stack, "items")) == {"shoe", "hat"}
    assert set(await records(stack, "variations")) == {"shoe-42", "shoe-43"}


async def test_delta_replaces_given_records_and_leaves_the_rest(stack) -> None:
    await synced(stack)
    task = await wait_task(stack, await upload(stack, DELTA, {ITEMS: "id,item_name\nhat,New hat\nscarf,Scarf\n"}))
    assert task.status == task_pb2.TASK_STATUS_DONE, task.error
    assert (task.type, task.result.items.updated, task.result.items.created) == ("catalog_delta", 1, 1)
    items = await records(stack, "items")
    assert set(items) == {"shoe", "hat", "scarf"}
    assert items["hat"].name == "New hat" and data(items["hat"]) == {}  # whole record replaced


async def test_patch_delta_merges_only_non_blank_cells(stack) -> None:
    await synced(stack)
    patch = "id,item_name,url,suggested_score,facet:size\nshoe,,https://x.test/new,,9\nnew,New,,,\n"
    task = await wait_task(stack, await upload(stack, DELTA, {ITEMS: patch}, patch_delta=True))
    assert task.status == task_pb2.TASK_STATUS_DONE, task.error
    assert (task.result.items.updated, task.result.items.created) == (1, 1)
    shoe = (await records(stack, "items"))["shoe"]
    assert shoe.name == "Running shoe, red" and shoe.suggested_score == 4.5
    assert data(shoe)["url"] == "https://x.test/new"
    assert data(shoe)["facets"] == {"color": ["red", "blue"], "size": ["9"]}
    assert data(shoe)["keywords"] == ["run", "shoe"]


async def test_the_safety_threshold_and_force(stack) -> None:
    await synced(stack)
    task = await wait_task(stack, await upload(stack, SYNC, {ITEMS: "id\nother\n"}))
    assert task.status == task_pb2.TASK_STATUS_FAILED
    assert task.error.reason == "SAFETY_THRESHOLD"
    assert "delete 2 of the 2 existing items (100%)" in task.error.message and "force=true" in task.error.message
    assert set(await records(stack, "items")) == {"shoe", "hat"}
    task = await wait_task(stack, await upload(stack, SYNC, {ITEMS: "id\nother\n"}, force=True))
    assert task.status == task_pb2.TASK_STATUS_DONE and task.result.items.deleted == 2
    # Exactly half is allowed without force.
    task = await wait_task(stack, await upload(stack, SYNC, {ITEMS: "id\nother\nsecond\n"}))
    task = await wait_task(stack, await upload(stack, SYNC, {ITEMS: "id\nother\n"}))
    assert task.status == task_pb2.TASK_STATUS_DONE and task.result.items.deleted == 1


BAD_INPUTS = [
    ({ITEMS: "id,colour\na,red\n"}, "items.csv", 1, "colour", "unknown column"),
    ({ITEMS: "item_name\nA\n"}, "items.csv", 1, "id", "required column missing"),
    ({ITEMS: "id,item_name\na,A\n,B\n"}, "items.csv", 3, "id", "id is required"),
    ({ITEMS: "id,item_name\na,A\nb,B\na,C\n"}, "items.csv", 4, "id", "duplicate id 'a' (first on row 2)"),
    ({GROUPS: 'id,data\ng,"{oops"\n'}, "item_groups.csv", 2, "data", "invalid JSON"),
    ({GROUPS: "id,parent_ids\ng,notjson\n"}, "item_groups.csv", 2, "parent_ids", "invalid JSON"),
    ({ITEMS: "id,suggested_score\na,1\nb,lots\n"}, "items.csv", 3, "suggested_score", "not a number"),
    ({ITEMS: "id,active\na,maybe\n"}, "items.csv", 2, "active", "not a boolean"),
    ({ITEMS: b"id,item_name\na,A\nb,\xff\xfe\n"}, "items.csv", 3, "", "invalid UTF-8"),
    ({ITEMS: 'id,item_name\na,"open\n'}, "items.csv", 2, "", "malformed CSV"),
    (
        {VARIATIONS: "variation_id,item_id\nv,ghost\n"},
        "variations.csv",
        2,
        "item_id",
        "item_id 'ghost', which does not exist",
    ),
    # All or nothing: valid items, broken variations: nothing of either lands.
    (
        {ITEMS: "id\nfresh\nshoe\nhat\n", VARIATIONS: "variation_id,item_id\nv1,shoe\n,shoe\n"},
        "variations.csv",
        3,
        "variation_id",
        "id is required",
    ),
]


@pytest.mark.parametrize(("files", "file", "row", "column", "message"), BAD_INPUTS)
async def test_malformed_input_fails_the_task_and_changes_nothing(stack, files, file, row, column, message) -> None:
    await synced(stack)
    before = {kind: await records(stack, kind) for kind in ("items", "variations", "item_groups")}
    task = await wait_task(stack, await upload(stack, SYNC, files, force=True))
    assert task.status == task_pb2.TASK_STATUS_FAILED
    assert (task.error.file, task.error.row, task.error.column) == (file, row, column), task.error
    assert message in task.error.message and file in task.error.message
    after = {kind: await records(stack, kind) for kind in ("items", "variations", "item_groups")}
    assert after == before


async def test_header_errors_are_invalid_argument(stack) -> None:
    async def call(*messages: catalog_pb2.UploadCatalogRequest) -> grpc.aio.AioRpcError:
        async def stream() -> AsyncIterator[catalog_pb2.UploadCatalogRequest]:
            for message in messages:
                yield message

        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stack.catalog.UploadCatalog(stream(), metadata=stack.metadata())
        return error.value

    chunk = catalog_pb2.UploadCatalogRequest(chunk=catalog_pb2.FileChunk(file=ITEMS, data=b"id\n"))
    header = catalog_pb2.UploadCatalogHeader(mode=SYNC, files=[ITEMS])
    for messages, field in [
        ((chunk,), "header"),
        ((catalog_pb2.UploadCatalogRequest(header=catalog_pb2.UploadCatalogHeader(files=[ITEMS])),), "header.mode"),
        ((catalog_pb2.UploadCatalogRequest(header=catalog_pb2.UploadCatalogHeader(mode=SYNC)),), "files"),
        ((catalog_pb2.UploadCatalogRequest(header=header), catalog_pb2.UploadCatalogRequest(header=header)), "header"),
        (
            (
                catalog_pb2.UploadCatalogRequest(header=header),
                catalog_pb2.UploadCatalogRequest(chunk=catalog_pb2.FileChunk(file=GROUPS, data=b"id\n")),
            ),
            "chunk.file",
        ),
    ]:
        error = await call(*messages)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith(field)
    listed = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(), metadata=stack.metadata())
    assert listed.total_count == 0


async def test_a_failed_task_emails_its_notification_address(stack) -> None:
    from aiosmtpd.controller import Controller

    received: list = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        # The worker reads the SMTP address from its settings when a task fails.
        object.__setattr__(stack.settings, "smtp_port", port)
        task_id = await upload(stack, SYNC, {ITEMS: "id,suggested_score\na,x\n"}, notification_email="ops@example.com")
        task = await wait_task(stack, task_id)
        assert task.status == task_pb2.TASK_STATUS_FAILED
        await eventually(lambda: asyncio.sleep(0, len(received)), lambda n: n >= 1)
        done = await wait_task(
            stack, await upload(stack, SYNC, {ITEMS: "id\nok\n"}, notification_email="ops@example.com")
        )
        assert done.status == task_pb2.TASK_STATUS_DONE
    finally:
        controller.stop()
    assert len(received) == 1  # one email, and none for the task that succeeded
    assert received[0].rcpt_tos == ["ops@example.com"]
    body = received[0].content.decode()
    assert f"task {task_id} failed" in body and "items.csv, row 2, column 'suggested_score'" in body


async def test_an_upload_the_client_cancels_creates_nothing(database_url) -> None:
    """A cancelled upload ends the server's request stream like a finished one: it must not become a sync."""
    async with start_stack(database_url, worker=False, gateway=False) as stack:
        call = stack.catalog.UploadCatalog(metadata=stack.metadata())
        await call.write(catalog_pb2.UploadCatalogRequest(header=catalog_pb2.UploadCatalogHeader(mode=SYNC)))
        rows = "".join(f"id-{n},Item {n}\n" for n in range(120_000)).encode()  # > 1 MiB: a part gets stored
        await call.write(
            catalog_pb2.UploadCatalogRequest(chunk=catalog_pb2.FileChunk(file=ITEMS, data=b"id,item_name\n"))
        )
        await call.write(catalog_pb2.UploadCatalogRequest(chunk=catalog_pb2.FileChunk(file=ITEMS, data=rows)))
        await eventually(lambda: stream_is_storing(stack), bool)
        assert call.cancel()
        assert await call.code() == grpc.StatusCode.CANCELLED
        await eventually(lambda: stream_is_storing(stack), lambda storing: not storing)
        listed = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(), metadata=stack.metadata())
        assert listed.total_count == 0
