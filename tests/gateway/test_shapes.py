"""The async items API's record shape, both ways, and the /v2 adapters."""

from __future__ import annotations

from typing import Any

import pytest

from catalogingest.v1 import catalog_pb2, record_pb2
from gateway.errors import GatewayError
from gateway.shapes import SHAPES, message_only_error, shape_for
from gateway.shapes.records import (
    list_records_response,
    record_from_json,
    record_to_json,
    records_error,
    records_request,
)

ITEM, VARIATION, GROUP = (
    record_pb2.RECORD_KIND_ITEM,
    record_pb2.RECORD_KIND_VARIATION,
    record_pb2.RECORD_KIND_ITEM_GROUP,
)


def test_item_both_ways() -> None:
    obj = {"id": "i1", "name": "Shoe", "suggested_score": 5, "data": {"url": "/shoe", "facets": [{"n": 1}]}}
    record, violations = record_from_json(obj, ITEM, "items[0]")
    assert violations == []
    assert record.kind == ITEM and record.id == "i1" and record.name == "Shoe"
    assert record.suggested_score == 5.0
    assert record_to_json(record) == {**obj, "suggested_score": 5.0}


def test_variation_and_group_both_ways() -> None:
    variation = {"id": "v1", "item_id": "i1", "name": None, "data": {"size": 2}, "context": "store-1"}
    record, violations = record_from_json(variation, VARIATION, "variations[0]")
    assert violations == [] and record.item_id == "i1" and not record.HasField("name")
    assert record_to_json(record) == variation
    group = {"id": "g2", "name": "Shoes", "parent_ids": ["g1"], "data": {}}
    record, violations = record_from_json(group, GROUP, "item_groups[0]")
    assert violations == [] and list(record.parent_ids) == ["g1"]
    assert record_to_json(record) == group


def test_output_defaults() -> None:
    assert record_to_json(record_pb2.Record(kind=ITEM, id="a")) == {"id": "a", "name": None, "data": {}}
    assert record_to_json(record_pb2.Record(kind=VARIATION, id="v")) == {
        "id": "v",
        "name": None,
        "item_id": None,
        "data": {},
    }
    assert record_to_json(record_pb2.Record(kind=GROUP, id="g"))["parent_ids"] == []


def test_timestamp_and_minimal_delete_record() -> None:
    record, violations = record_from_json({"id": "a", "timestamp": "2024-09-05T10:50:42Z"}, ITEM, "items[0]")
    assert violations == [] and record.timestamp.seconds == 1725533442 and record.data_json == ""


@pytest.mark.parametrize(
    ("obj", "kind", "field", "description"),
    [
        ("a", ITEM, "items[3]", "must be a JSON object"),
        (["a"], ITEM, "items[3]", "must be a JSON object"),
        ({"name": "x"}, ITEM, "items[3].id", "required"),
        ({"id": None}, ITEM, "items[3].id", "required"),
        ({"id": 7}, ITEM, "items[3].id", "must be a string"),
        ({"id": "a", "data": []}, ITEM, "items[3].data", "must be a JSON object"),
        ({"id": "a", "data": "{}"}, ITEM, "items[3].data", "must be a JSON object"),
        ({"id": "a", "suggested_score": "9"}, ITEM, "items[3].suggested_score", "must be a number"),
        ({"id": "a", "suggested_score": True}, ITEM, "items[3].suggested_score", "must be a number"),
        ({"id": "a", "name": 1}, ITEM, "items[3].name", "must be a string"),
        ({"id": "a", "context": 1}, ITEM, "items[3].context", "must be a string"),
        ({"id": "a", "timestamp": "now"}, ITEM, "items[3].timestamp", "must be an RFC 3339 date-time string"),
        ({"id": "a", "url": "/x"}, ITEM, "items[3].url", "unknown field; attributes go in data"),
        ({"id": "a", "item_id": "i"}, ITEM, "items[3].item_id", "unknown field; attributes go in data"),
        ({"id": "a", "item_id": 5}, VARIATION, "items[3].item_id", "must be a string"),
        ({"id": "a", "parent_ids": "g1"}, GROUP, "items[3].parent_ids", "must be a list of strings"),
        ({"id": "a", "parent_ids": ["g1", 2]}, GROUP, "items[3].parent_ids", "must be a list of strings"),
    ],
)
def test_malformed_records_name_index_and_field(obj: Any, kind: int, field: str, description: str) -> None:
    _, violations = record_from_json(obj, kind, "items[3]")
    assert violations == [(field, description)]


def _write(collection: str, body: Any) -> catalog_pb2.ReplaceRecordsRequest:
    request = catalog_pb2.ReplaceRecordsRequest(collection=collection)
    assert records_request(request, body) == {"records"}
    return request


def _write_error(collection: str, body: Any) -> dict[str, Any]:
    with pytest.raises(GatewayError) as caught:
        _write(collection, body)
    assert caught.value.status == 400
    return caught.value.body()


def test_records_request_reads_the_collection_key() -> None:
    request = _write("variations", {"variations": [{"id": "v", "item_id": "i", "data": {"a": 1}}]})
    assert [(r.kind, r.id, r.item_id, r.data_json) for r in request.records] == [(VARIATION, "v", "i", '{"a":1}')]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (None, "items"),
        ([{"id": "a"}], "items"),
        ({"variations": []}, "items"),
        ({"items": {"id": "a"}}, "items"),
    ],
)
def test_records_request_body_errors(body: Any, field: str) -> None:
    assert _write_error("items", body)["field_violations"][0]["field"] == field


def test_records_request_reports_every_bad_record() -> None:
    body = {"items": [{"id": "a"}, {"id": "b"}, {"id": "c"}, {"name": "no id"}, {"id": "e", "data": 1}]}
    error = _write_error("items", body)
    assert error["message"] == "items[3].id: required"
    assert error["reason"] == "INVALID_RECORD"
    assert error["field_violations"] == [
        {"field": "items[3].id", "description": "required"},
        {"field": "items[4].data", "description": "must be a JSON object"},
    ]


def test_unknown_collection_is_400() -> None:
    assert _write_error("things", {"things": []})["field_violations"][0]["field"] == "collection"


def test_list_records_response_is_keyed_by_collection() -> None:
    response = catalog_pb2.ListRecordsResponse(
        records=[record_pb2.Record(kind=GROUP, id="g", name="G", data_json='{"k": true}')], total_count=3
    )
    body = list_records_response(catalog_pb2.ListRecordsRequest(collection="item_groups"), response)
    assert body == {
        "item_groups": [{"id": "g", "name": "G", "parent_ids": [], "data": {"k": True}}],
        "total_count": 3,
    }
    response.next_page_token = "abc"
    assert (
        list_records_response(catalog_pb2.ListRecordsRequest(collection="item_groups"), response)["next_page_token"]
        == "abc"
    )


def test_server_violations_are_renamed_to_the_collection() -> None:
    body = {
        "message": "records[3].id: required and must not be blank",
        "code": "INVALID_ARGUMENT",
        "field_violations": [
            {"field": "records[3].id", "description": "required"},
            {"field": "records", "description": "at most 1000 records per call"},
            {"field": "section", "description": "unknown"},
        ],
    }
    renamed = records_error(catalog_pb2.ReplaceRecordsRequest(collection="variations"), body)
    assert renamed["message"] == "variations[3].id: required and must not be blank"
    assert [v["field"] for v in renamed["field_violations"]] == ["variations[3].id", "variations", "section"]


def test_ingestion_status_errors_are_message_only() -> None:
    assert message_only_error(catalog_pb2.ListRecordsRequest(), {"message": "no worker", "code": "UNAVAILABLE"}) == {
        "message": "no worker"
    }


def test_shapes_are_keyed_by_real_methods_and_others_are_generic() -> None:
    from gateway.http_rules import discover_services

    methods = {f"/{s.full_name}/{m.name}" for s in discover_services() for m in s.methods}
    assert set(SHAPES) <= methods
    assert shape_for("/catalogingest.v1.TaskService/GetTask").request is None
