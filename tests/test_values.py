"""R5 and NUL: every value a write path accepts reads back as sent, on both backends; what cannot is refused at
write time naming the field, row or column; one stored value never breaks the reads of the others."""

from __future__ import annotations

from typing import Any

import grpc
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from catalogingest.v1 import catalog_pb2, record_pb2, task_pb2
from tests.batch_helpers import ingest, items_of, new_version, wait_ingestion
from tests.helpers import error_details, wait_task
from tests.test_bulk_items import ITEMS as BULK_ITEMS
from tests.test_bulk_items import define
from tests.test_catalog_upload import GROUPS, ITEMS, SYNC, VARIATIONS, records, synced, upload
from tests.test_http_records import done

INT64 = (-(2**63), 2**63 - 1)

# (JSON text of a number, what it reads back as, or None when it is refused naming the field).
NUMBERS: list[tuple[str, Any]] = [
    ("9223372036854775807", 2**63 - 1),
    ("-9223372036854775808", -(2**63)),
    ("9223372036854775808", None),
    ("18446744073709551615", None),
    ("-9223372036854775809", None),
    ("100000000000000000000", None),
    ("1e20", None),
    ("1e308", None),
    ("-1.7976931348623157e308", None),
    ("9.3e18", None),
    ("9.2e18", 9.2e18),
    ("1.2345678901234567e18", 1.2345678901234567e18),
    ("1e16", 1e16),
    ("123.0", 123.0),
    ("-0.0", 0.0),
    ("5e-324", 5e-324),
    ("2.2250738585072014e-308", 2.2250738585072014e-308),
    ("0.1", 0.1),
    # Decimals are read as the nearest double, as every JSON parser of doubles reads them.
    ("0.10000000000000000000000000000001", 0.1),
    ("1e-400", 0.0),
]
ACCEPTED = [(t, v) for t, v in NUMBERS if v is not None]
REFUSED = [t for t, v in NUMBERS if v is None]


def fits(value: int | float) -> bool:
    """R5: integers in the signed 64-bit range, finite floats of magnitude under 2^63."""
    if isinstance(value, int):
        return INT64[0] <= value <= INT64[1]
    return abs(value) < 2.0**63


def sample_numbers(budget: int) -> list[int | float]:
    """Hypothesis draws (no shrinking: each path sends them all in one call), plus the edges above."""
    drawn: list[int | float] = []

    @settings(max_examples=60 * budget, database=None, deadline=None)
    @given(
        st.one_of(
            st.integers(min_value=-(2**66), max_value=2**66),
            st.floats(allow_nan=False, allow_infinity=False),
            st.floats(min_value=-(2.0**66), max_value=2.0**66),
        )
    )
    def collect(value: int | float) -> None:
        drawn.append(value)

    collect()
    return drawn


def json_equal(read: Any, sent: Any) -> bool:
    """Equal as JSON numbers (the type may differ, 1e16 and 10000000000000000 are one number) and exactly."""
    return read == sent and type(read) in (int, float)


# ----------------------------------------------------------------------------------------------- /v2 JSON, gRPC


async def test_v2_numbers_read_back_as_sent_or_are_refused_naming_the_field(http_stack) -> None:
    s = http_stack
    for number, expected in ACCEPTED:
        body = f'{{"items": [{{"id": "n", "data": {{"n": {number}, "list": [{number}]}}}}]}}'
        task = await done(s, await s.http.put("/v2/items", content=body, headers=s.auth()))
        assert task["status"] == "DONE", (number, task)
        response = await s.http.get("/v2/items", headers=s.auth())
        assert response.status_code == 200, (number, response.text)
        data = response.json()["items"][0]["data"]
        assert json_equal(data["n"], expected) and json_equal(data["list"][0], expected), (number, data)
        listed = await records(s, "items")
        assert json_equal(orjson.loads(listed["n"].data_json)["n"], expected), number
    for number in REFUSED:
        body = f'{{"items": [{{"id": "ok"}}, {{"id": "n", "data": {{"deep": {{"n": [{number}]}}}}}}]}}'
        response = await s.http.put("/v2/items", content=body, headers=s.auth())
        assert response.status_code == 400, (number, response.text)
        assert "items[1].data.deep.n[0]" in response.text, (number, response.text)


async def test_grpc_record_writes_refuse_what_cannot_read_back(stack) -> None:
    for number in REFUSED:
        record = record_pb2.Record(id="n", data_json=f'{{"price": {number}}}')
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stack.catalog.ReplaceRecords(
                catalog_pb2.ReplaceRecordsRequest(collection="items", records=[record_pb2.Record(id="a"), record]),
                metadata=stack.metadata(),
            )
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, number
        fields, _ = error_details(error.value)
        assert fields == ["records[1].data.price"], (number, error.value.details())
        assert "signed 64-bit" in error.value.details() or "2^63" in error.value.details()
    # Lone surrogates never reach a store: invalid JSON.
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stack.catalog.ReplaceRecords(
            catalog_pb2.ReplaceRecordsRequest(
                collection="items", records=[record_pb2.Record(id="a", data_json='{"k": "\\ud800"}')]
            ),
            metadata=stack.metadata(),
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error.value)[0] == ["records[0].data"]


# ----------------------------------------------------------------------------------------------- bulk, batch


async def test_bulk_numbers_read_back_as_sent_or_fail_the_item(http_stack) -> None:
    s = http_stack
    await define(s, "shop", [{"name": "price", "type": "number"}, {"name": "any", "type": "json"}])
    items = [f'{{"item_id": "i{n}", "properties": {{"price": {t}, "any": {{"x": [{t}]}}}}}}' for n, (t, _) in
             enumerate(NUMBERS)]  # fmt: skip
    response = await s.http.put(BULK_ITEMS, content="[" + ",".join(items) + "]", headers=s.auth())
    assert response.status_code == 200, response.text
    results = response.json()
    for (number, expected), result in zip(NUMBERS, results, strict=True):
        if expected is None:
            assert result["success"] == "False", (number, result)
            assert any("price" in message for message in result["errors"]["properties"]), (number, result)
        else:
            assert result["success"] == "True", (number, result)
    assert (await wait_task(s, int(response.headers["x-task-id"]))).status == task_pb2.TASK_STATUS_DONE
    stored = await items_of(s, "shop")
    for n, (number, expected) in enumerate(NUMBERS):
        if expected is not None:
            data = stored[f"i{n}"]["data"]
            assert json_equal(data["price"], expected) and json_equal(data["any"]["x"][0], expected), (number, data)


async def test_batch_attribute_numbers_read_back_as_sent_or_fail_the_item(http_stack) -> None:
    s = http_stack
    version = await new_version(s)
    items = [f'{{"id": "i{n}", "type": "product", "attributes": {{"price": {t}}}}}' for n, (t, _) in enumerate(NUMBERS)]
    response = await s.http.post(
        "/batch-imports/items",
        params={"tenant": "acme", "environment": "prod", "batch_id": version},
        content="[" + ",".join(items) + "]",
        headers=s.auth(),
    )
    assert response.status_code == 200, response.text
    for (number, expected), result in zip(NUMBERS, response.json(), strict=True):
        if expected is None:
            assert result["code"] == 5 and "attributes.price" in result["message"], (number, result)
        else:
            assert result["code"] == 0, (number, result)
    status = await wait_ingestion(s, await ingest(s, {"catalogVersion": version, "promoteCatalogOnCompletion": True}))
    assert status["status"] == "SUCCESS", status
    stored = await items_of(s)
    for n, (number, expected) in enumerate(NUMBERS):
        if expected is not None:
            assert json_equal(stored[f"i{n}"]["data"]["price"], expected), (number, stored[f"i{n}"])


async def test_numbers_hypothesis_draws_accepted_read_back_equal(http_stack, budget) -> None:
    """Every drawn number is accepted exactly when R5 says it fits, and an accepted one reads back equal."""
    s = http_stack
    numbers = sample_numbers(budget)
    await define(s, "shop", [{"name": "price", "type": "number"}])
    body = [{"item_id": f"i{n}", "properties": {"price": v}} for n, v in enumerate(numbers)]
    # orjson writes integers beyond 64 bits only as text: build the body by hand.
    text_body = "[" + ",".join(f'{{"item_id":"i{n}","properties":{{"price":{_text(v)}}}}}' for n, v in
                               enumerate(numbers)) + "]"  # fmt: skip
    response = await s.http.put(BULK_ITEMS, content=text_body, headers=s.auth())
    assert response.status_code == 200, response.text
    accepted = {}
    for item, value, result in zip(body, numbers, response.json(), strict=True):
        assert (result["success"] == "True") == fits(value), (value, result)
        if fits(value):
            accepted[item["item_id"]] = value
    if accepted:
        assert (await wait_task(s, int(response.headers["x-task-id"]))).status == task_pb2.TASK_STATUS_DONE
    stored = await items_of(s, "shop")
    for item_id, value in accepted.items():
        assert json_equal(stored[item_id]["data"]["price"], value), (value, stored[item_id])
    listed = await records(s, "items", section="shop")
    for item_id, value in accepted.items():
        assert json_equal(orjson.loads(listed[item_id].data_json)["price"], value), value

    fitting = [v for v in numbers if fits(v)][:500]
    v2 = "[" + ",".join(f'{{"id":"h{n}","data":{{"v":{_text(v)}}}}}' for n, v in enumerate(fitting)) + "]"
    task = await done(s, await s.http.put("/v2/items", content=f'{{"items":{v2}}}', headers=s.auth()))
    assert task["status"] == "DONE", task
    stored = await items_of(s, "Products")
    for n, value in enumerate(fitting):
        assert json_equal(stored[f"h{n}"]["data"]["v"], value), (value, stored[f"h{n}"])


def _text(value: int | float) -> str:
    return str(value) if isinstance(value, int) else orjson.dumps(value).decode()


# ----------------------------------------------------------------------------------------------- CSV


async def test_csv_group_data_numbers_read_back_or_fail_naming_the_column(stack) -> None:
    rows = "".join(f'g{n},"{{""n"": {t}}}"\n' for n, (t, _) in enumerate(ACCEPTED))
    task = await wait_task(stack, await upload(stack, SYNC, {GROUPS: "id,data\n" + rows}))
    assert task.status == task_pb2.TASK_STATUS_DONE, task.error
    groups = await records(stack, "item_groups")
    for n, (number, expected) in enumerate(ACCEPTED):
        assert json_equal(orjson.loads(groups[f"g{n}"].data_json)["n"], expected), number
    for number in REFUSED:
        task = await wait_task(stack, await upload(stack, SYNC, {GROUPS: f'id,data\nok,\ng,"{{""n"": [{number}]}}"\n'}))
        assert task.status == task_pb2.TASK_STATUS_FAILED, number
        assert (task.error.file, task.error.row, task.error.column) == ("item_groups.csv", 3, "data"), task.error
        assert "n[0]" in task.error.message and task.error.reason == "INVALID_NUMBER", task.error


NUL_CASES = [
    # (files, file, row, column)
    ({ITEMS: "id,item_name\na,A\nb\x00,B\n"}, "items.csv", 3, "id"),
    ({ITEMS: "id,item_name\na,A\nb,B\x00\n"}, "items.csv", 3, "item_name"),
    ({ITEMS: "id,url\na,https://x.test/\x00\n"}, "items.csv", 2, "url"),
    ({ITEMS: "id,keywords\na,x|y\x00\n"}, "items.csv", 2, "keywords"),
    ({ITEMS: "id,group_ids\na,g1|\x00\n"}, "items.csv", 2, "group_ids"),
    ({ITEMS: "id,metadata:brand\na,Ac\x00me\n"}, "items.csv", 2, "metadata:brand"),
    ({ITEMS: "id,facet:color\na,red|\x00\n"}, "items.csv", 2, "facet:color"),
    ({ITEMS: 'id,description\na,"two\nlines\x00"\n'}, "items.csv", 2, "description"),
    ({VARIATIONS: "variation_id,item_id\nv1,shoe\x00\n"}, "variations.csv", 2, "item_id"),
    ({VARIATIONS: "variation_id,item_id,facet:size\nv1,shoe,4\x002\n"}, "variations.csv", 2, "facet:size"),
    ({GROUPS: "id,name\ng\x00,G\n"}, "item_groups.csv", 2, "id"),
    ({GROUPS: 'id,data\ng,"{""k"": ""a\\u0000b""}"\n'}, "item_groups.csv", 2, "data"),
    ({GROUPS: 'id,data\ng,"{""k\\u0000"": 1}"\n'}, "item_groups.csv", 2, "data"),
    ({GROUPS: 'id,parent_ids\ng,"[""p\\u0000""]"\n'}, "item_groups.csv", 2, "parent_ids"),
    ({GROUPS: "id,parent_id\ng,p\x00\n"}, "item_groups.csv", 2, "parent_id"),
]


@pytest.mark.parametrize(("files", "file", "row", "column"), NUL_CASES)
async def test_a_nul_in_any_csv_cell_fails_the_task_naming_file_row_column(stack, files, file, row, column) -> None:
    await synced(stack)
    before = {kind: await records(stack, kind) for kind in ("items", "variations", "item_groups")}
    task = await wait_task(stack, await upload(stack, SYNC, files, force=True))
    assert task.status == task_pb2.TASK_STATUS_FAILED
    assert (task.error.file, task.error.row, task.error.column) == (file, row, column), task.error
    assert task.error.reason == "INVALID_CHARACTER" and "NUL" in task.error.message, task.error
    after = {kind: await records(stack, kind) for kind in ("items", "variations", "item_groups")}
    assert after == before


async def test_lone_surrogate_bytes_in_a_csv_are_invalid_utf8(stack) -> None:
    task = await wait_task(stack, await upload(stack, SYNC, {ITEMS: b"id,item_name\na,A\nb,\xed\xa0\x80\n"}))
    assert task.status == task_pb2.TASK_STATUS_FAILED
    assert (task.error.file, task.error.row) == ("items.csv", 3) and "UTF-8" in task.error.message


# ----------------------------------------------------------------------------------------------- R6


@pytest.mark.parametrize(
    ("files", "file", "column"),
    [
        ({ITEMS: f"id,metadata:{key}\na,x\n"}, "items.csv", f"metadata:{key}")
        for key in (
            "url",
            "active",
            "group_ids",
            "facets",
            "image_url",
            "description",
            "keywords",
            "suggested_score",
            "item_name",
            "id",
        )
    ]
    + [({VARIATIONS: "variation_id,item_id,metadata:item_id\nv,shoe,x\n"}, "variations.csv", "metadata:item_id")],
)
async def test_a_metadata_column_colliding_with_a_built_in_is_a_csv_error(stack, files, file, column) -> None:
    task = await wait_task(stack, await upload(stack, SYNC, files))
    assert task.status == task_pb2.TASK_STATUS_FAILED
    assert (task.error.file, task.error.row, task.error.column) == (file, 1, column), task.error
    assert "built-in" in task.error.message


# ----------------------------------------------------------------------------------------------- old values


async def test_a_value_stored_by_an_older_version_never_breaks_a_read(http_stack) -> None:
    """Values an older version let in (a 1e20 that PostgreSQL keeps as a 21-digit integer, 1e400 in SQLite text)
    are read back without failing the read of the catalog."""
    s = http_stack
    body = {"items": [{"id": "good", "data": {"n": 1}}, {"id": "old", "data": {"n": 2}}]}
    assert (await done(s, await s.http.put("/v2/items", json=body, headers=s.auth())))["status"] == "DONE"
    poison = '{"n": 100000000000000000000, "m": [1' + "0" * 400 + '], "f": 1e400}'
    postgres = s.engine.dialect.name == "postgresql"
    if postgres:
        poison = poison.replace(', "f": 1e400', "")
    async with s.engine.begin() as conn:
        cast = "CAST(:data AS jsonb)" if postgres else ":data"
        await conn.execute(text(f"UPDATE records SET data = {cast} WHERE record_id = 'old'"), {"data": poison})
    response = await s.http.get("/v2/items", headers=s.auth())
    assert response.status_code == 200, response.text
    by_id = {r["id"]: r["data"] for r in response.json()["items"]}
    assert by_id["good"] == {"n": 1} and by_id["old"]["n"] == 1e20
    listed = await records(s, "items")
    assert orjson.loads(listed["good"].data_json) == {"n": 1}
    got = await s.catalog.BatchGetRecords(
        catalog_pb2.BatchGetRecordsRequest(collection="items", ids=["old", "good"]), metadata=s.metadata()
    )
    assert {r.id for r in got.records} == {"old", "good"}
