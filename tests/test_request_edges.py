"""Requests at the edges the fuzz suite (tests/fuzz) found answered wrongly: Timestamps, Durations and enum
numbers out of their range, NUL in a deleted record, values too long to echo
in an error, and refused streams that left a new catalog behind. Each gets INVALID_ARGUMENT (or the
call's own clear error) naming the field, and changes nothing."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from sqlalchemy import text

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from tests.helpers import error_details, wait_task

# gRPC trailing metadata is refused past 16 KiB (and may be dropped past 8 KiB): an error must fit well inside.
ERROR_BYTES = 4 * 1024


async def refused(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


def assert_invalid(error: grpc.aio.AioRpcError, field: str) -> None:
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (field, error.code(), error.details())
    assert error.details().startswith(f"{field}: "), (field, error.details())
    assert error_details(error)[0][0] == field, (field, error_details(error))


def timestamp_request(field: str, seconds: int, nanos: int) -> task_pb2.ListTasksRequest:
    request = task_pb2.ListTasksRequest()
    getattr(request, field).seconds = seconds
    getattr(request, field).nanos = nanos
    return request


async def test_out_of_range_timestamps_and_unknown_enum_numbers_are_invalid_argument_naming_the_field(stack) -> None:
    md = stack.metadata()
    for field in ("submitted_after", "submitted_before"):
        for seconds, nanos in ((0, -1), (0, 1_000_000_000), (-62_135_596_801, 0), (253_402_300_800, 0)):
            error = await refused(stack.tasks.ListTasks(timestamp_request(field, seconds, nanos), metadata=md))
            assert_invalid(error, field)
    for status in (-1, 7, 11):
        error = await refused(stack.tasks.ListTasks(task_pb2.ListTasksRequest(status=status), metadata=md))
        assert_invalid(error, "status")
        assert f"{status} is not a value of TaskStatus" in error.details()
    for on_missing in (7, 10, -3):
        request = catalog_pb2.UpdateRecordsRequest(
            collection="items", on_missing=on_missing, records=[record_pb2.Record(id="a")]
        )
        assert_invalid(await refused(stack.catalog.UpdateRecords(request, metadata=md)), "on_missing")
    # At any depth: a record's kind and timestamp.
    bad_kind = catalog_pb2.ReplaceRecordsRequest(
        collection="items", records=[record_pb2.Record(id="a"), record_pb2.Record(id="b", kind=9)]
    )
    assert_invalid(await refused(stack.catalog.ReplaceRecords(bad_kind, metadata=md)), "records[1].kind")
    late = record_pb2.Record(id="c")
    late.timestamp.seconds = 253_402_300_800  # past 9999-12-31T23:59:59Z
    bad_time = catalog_pb2.ReplaceRecordsRequest(
        collection="items", records=[record_pb2.Record(id="a"), record_pb2.Record(id="b"), late]
    )
    assert_invalid(await refused(stack.catalog.ReplaceRecords(bad_time, metadata=md)), "records[2].timestamp")
    tasks = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(), metadata=md)
    assert tasks.total_count == 0


async def test_nul_in_any_string_of_a_deleted_record_is_refused_at_the_request(stack) -> None:
    md = stack.metadata()
    written = await stack.catalog.ReplaceRecords(
        catalog_pb2.ReplaceRecordsRequest(collection="items", records=[record_pb2.Record(id="keep")]), metadata=md
    )
    assert (await wait_task(stack, written.task_id)).status == task_pb2.TASK_STATUS_DONE
    cases = {
        "records[0].name": ("items", record_pb2.Record(id="keep", name="a\x00b")),
        "records[0].item_id": ("variations", record_pb2.Record(id="v", item_id="i\x00")),
        "records[0].parent_ids[1]": ("item_groups", record_pb2.Record(id="g", parent_ids=["p", "\x00"])),
    }
    for field, (collection, record) in cases.items():
        request = catalog_pb2.DeleteRecordsRequest(collection=collection, records=[record])
        error = await refused(stack.catalog.DeleteRecords(request, metadata=md))
        assert_invalid(error, field)
        assert "NUL" in error.details()
    tasks = await stack.tasks.ListTasks(task_pb2.ListTasksRequest(), metadata=md)
    assert tasks.total_count == 1
    records = await stack.catalog.ListRecords(catalog_pb2.ListRecordsRequest(collection="items"), metadata=md)
    assert [r.id for r in records.records] == ["keep"]


async def test_an_error_quotes_a_long_value_only_by_a_short_prefix(stack) -> None:
    md = stack.metadata()
    long = "x" * 40_000
    calls = {
        "project_id": stack.catalog.BulkReplaceCatalogItems(
            catalog_pb2.BulkReplaceCatalogItemsRequest(
                project_id=long, catalog_id="c", items=[catalog_pb2.CatalogItem(item_id=long)]
            ),
            metadata=md,
        ),
        "collection": stack.catalog.ListRecords(catalog_pb2.ListRecordsRequest(collection=long), metadata=md),
        "key": stack.tasks.ListTasks(task_pb2.ListTasksRequest(key=long), metadata=md),
    }
    for field, call in calls.items():
        error = await refused(call)
        assert error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED, (field, error)
        assert field.removesuffix("_id") in error.details(), (field, error.details()[:200])
        assert "x" * 100 + "…" in error.details(), (field, error.details()[:200])
        trailing = sum(len(k) + len(v) for k, v in error.trailing_metadata() or ())
        assert len(error.details()) < ERROR_BYTES and trailing < ERROR_BYTES * 2, (field, trailing)


async def catalog_names(stack: Any) -> list[str]:
    async with stack.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT c.name, count(v.id) FROM catalogs c"
                " LEFT JOIN catalog_versions v ON v.catalog_id = c.id GROUP BY c.name"
            )
        )
        return sorted(f"{name}:{versions}" for name, versions in rows)


async def test_a_refused_stream_to_a_new_section_leaves_no_catalog(stack) -> None:
    md = stack.metadata()
    before = await catalog_names(stack)
    header = catalog_pb2.StreamRecordsHeader(section="fresh", collection="items", mode=catalog_pb2.WRITE_MODE_REPLACE)
    streams = {
        "second header": [catalog_pb2.StreamRecordsRequest(header=header)] * 2,
        "invalid record": [
            catalog_pb2.StreamRecordsRequest(header=header),
            catalog_pb2.StreamRecordsRequest(batch=record_pb2.RecordBatch(records=[record_pb2.Record(id="")])),
        ],
        "no records": [catalog_pb2.StreamRecordsRequest(header=header)],
    }
    for case, messages in streams.items():
        error = await refused(stack.catalog.StreamRecords(iter(messages), metadata=md))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (case, error)
        assert await catalog_names(stack) == before, case
    upload_header = catalog_pb2.UploadCatalogHeader(
        section="fresh", mode=catalog_pb2.UPLOAD_MODE_SYNC, files=[record_pb2.RECORD_KIND_ITEM]
    )
    uploads = {
        "undeclared file": [
            catalog_pb2.UploadCatalogRequest(header=upload_header),
            catalog_pb2.UploadCatalogRequest(
                chunk=catalog_pb2.FileChunk(file=record_pb2.RECORD_KIND_VARIATION, data=b"id\n")
            ),
        ],
        "second header": [catalog_pb2.UploadCatalogRequest(header=upload_header)] * 2,
    }
    for case, messages in uploads.items():
        error = await refused(stack.catalog.UploadCatalog(iter(messages), metadata=md))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (case, error)
        assert await catalog_names(stack) == before, case
    # A stream that succeeds creates its catalog, as before.
    batch = record_pb2.RecordBatch(records=[record_pb2.Record(id="a")])
    done = await stack.catalog.StreamRecords(
        iter([catalog_pb2.StreamRecordsRequest(header=header), catalog_pb2.StreamRecordsRequest(batch=batch)]),
        metadata=md,
    )
    assert (await wait_task(stack, done.task_id)).status == task_pb2.TASK_STATUS_DONE
    assert await catalog_names(stack) == sorted([*before, "fresh:1"])


ROUTING = [
    # (method, path, status, what the message must say)
    ("GET", "/data/v2/projects/acme/catalogs/a%2Fb", 400, "catalog_id: must not contain '/'"),
    ("PUT", "/data/v2/projects/acme/catalogs/a%2Fb/items", 400, "catalog_id: must not contain '/'"),
    ("GET", "/v1/tasks/1%2F2", 400, "id: must not contain '/'"),
    ("GET", "/v1/tasks/", 400, "id: must not be empty"),
    ("POST", "/v1/tasks/:cancel", 400, "id: must not be empty"),
    ("DELETE", "/catalogs/", 400, "version: must not be empty"),
    ("GET", "/v2/", 400, "collection: must not be empty"),
    ("GET", "/nowhere", 404, "no route for GET /nowhere"),
    ("DELETE", "/v2/items/x/y", 404, "no route for DELETE /v2/items/x/y"),
    ("POST", "/v1/tasks/1", 405, "POST is not allowed on /v1/tasks/{id}"),
]


async def test_a_path_no_route_takes_is_answered_by_name_never_redirected(http_stack) -> None:
    for method, path, status, fragment in ROUTING:
        response = await http_stack.http.request(method, path, headers=http_stack.auth(), follow_redirects=False)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        assert fragment in response.json()["message"], (method, path, response.text)


async def test_a_notification_email_over_320_characters_is_invalid_argument_on_every_write(http_stack) -> None:
    md = http_stack.metadata()
    email = "x" * 321
    record = record_pb2.Record(id="a")
    error = await refused(
        http_stack.catalog.DeleteRecords(
            catalog_pb2.DeleteRecordsRequest(collection="items", records=[record], notification_email=email),
            metadata=md,
        )
    )
    assert_invalid(error, "notification_email")
    header = catalog_pb2.StreamRecordsHeader(
        collection="items", mode=catalog_pb2.WRITE_MODE_REPLACE, notification_email=email
    )
    batch = record_pb2.RecordBatch(records=[record])
    messages = [catalog_pb2.StreamRecordsRequest(header=header), catalog_pb2.StreamRecordsRequest(batch=batch)]
    assert_invalid(await refused(http_stack.catalog.StreamRecords(iter(messages), metadata=md)), "notification_email")
    response = await http_stack.http.request(
        "DELETE",
        "/v2/items",
        params={"notification_email": email},
        json={"items": [{"id": "a"}]},
        headers=http_stack.auth(),
    )
    assert response.status_code == 400 and "notification_email" in response.json()["message"], response.text
    assert (await http_stack.tasks.ListTasks(task_pb2.ListTasksRequest(), metadata=md)).total_count == 0


async def test_nul_in_a_catalog_definition_field_name_is_invalid_argument_naming_it(stack) -> None:
    md = stack.metadata()
    catalog = catalog_pb2.CatalogDefinition(
        name="gdef",
        fields=[
            catalog_pb2.CatalogField(name="ok", type="string"),
            catalog_pb2.CatalogField(name="a\x00b", type="string"),
        ],
    )
    request = catalog_pb2.CreateCatalogDefinitionRequest(project_id="acme", catalog=catalog)
    error = await refused(stack.catalog.CreateCatalogDefinition(request, metadata=md))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
    assert "fields[1].name" in error.details() and "NUL" in error.details(), error.details()
    assert await catalog_names(stack) == []


async def test_nul_in_a_batch_deletes_parent_id_is_refused_for_that_item(http_stack) -> None:
    from tests.batch_helpers import delete, new_version

    version = await new_version(http_stack)
    results = await delete(
        http_stack,
        [{"id": "a", "type": "product"}, {"id": "b", "type": "product", "parentId": "\x00"}],
        version,
    )
    assert results[0]["code"] == 0, results
    assert results[1]["code"] != 0 and "parentId must not contain NUL" in results[1]["message"], results
