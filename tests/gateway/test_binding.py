"""Path variables, query parameters and JSON bodies into request messages."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import wrappers_pb2

from catalogingest.v1 import batch_pb2, catalog_pb2, record_pb2, task_pb2
from gateway.binding import bind_body, bind_path, bind_query
from gateway.errors import GatewayError


def query(message: Any, text: str, exclude: set[str] | None = None) -> Any:
    params = [tuple(pair.split("=", 1)) for pair in text.split("&")] if text else []
    bind_query(message, params, exclude or set())  # type: ignore[arg-type]
    return message


def rejected(message: Any, text: str) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        query(message, text)
    return caught.value


def test_strings_and_ints() -> None:
    request = query(task_pb2.ListTasksRequest(), "key=acme&section=Products&num_results_per_page=50&page=2")
    assert (request.key, request.section, request.num_results_per_page, request.page) == (
        "acme",
        "Products",
        50,
        2,
    )


def test_json_names_and_nested_fields() -> None:
    assert query(task_pb2.ListTasksRequest(), "numResultsPerPage=5").num_results_per_page == 5
    task = query(task_pb2.Task(), "progress.records_seen=9&result.items.created=2")
    assert (task.progress.records_seen, task.result.items.created) == (9, 2)


def test_int64_from_path() -> None:
    request = task_pb2.GetTaskRequest()
    assert bind_path(request, {"id": "9007199254740993"}) == {"id"}
    assert request.id == 9007199254740993


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("True", True), ("1", True)])
def test_bools_true(text: str, expected: bool) -> None:
    assert query(catalog_pb2.ReplaceRecordsRequest(), f"force={text}").force is expected


@pytest.mark.parametrize("text", ["false", "False", "0"])
def test_bools_false(text: str) -> None:
    assert query(catalog_pb2.ReplaceRecordsRequest(force=True), f"force={text}").force is False


def test_double_and_bytes() -> None:
    assert query(record_pb2.Record(), "suggested_score=1.5").suggested_score == 1.5
    assert query(wrappers_pb2.BytesValue(), "value=aGk=").value == b"hi"


def test_repeated_by_repeating_the_parameter() -> None:
    assert list(query(catalog_pb2.ListRecordsRequest(), "id=a&id=b&id=c").id) == ["a", "b", "c"]


@pytest.mark.parametrize("text", ["DONE", "done", "Done", "TASK_STATUS_DONE", "task_status_done", "3"])
def test_enum_by_name_with_or_without_prefix(text: str) -> None:
    assert query(task_pb2.ListTasksRequest(), f"status={text}").status == task_pb2.TASK_STATUS_DONE


def test_an_unknown_enum_value_lists_the_names_the_documents_use() -> None:
    error = rejected(task_pb2.ListTasksRequest(), "status=FINISHED")
    assert error.message == 'status: not one of QUEUED, IN_PROGRESS, DONE, FAILED, CANCELED: "FINISHED"'


def test_enum_on_missing() -> None:
    request = query(catalog_pb2.UpdateRecordsRequest(), "on_missing=IGNORE")
    assert request.on_missing == catalog_pb2.ON_MISSING_IGNORE


def test_timestamps_rfc3339() -> None:
    request = query(
        task_pb2.ListTasksRequest(),
        "submitted_after=2024-09-05T10:50:42Z&submitted_before=1985-04-12T23:20:50.52+02:00",
    )
    assert request.submitted_after.ToJsonString() == "2024-09-05T10:50:42Z"
    assert request.submitted_before.ToJsonString() == "1985-04-12T21:20:50.520Z"


def test_an_unencoded_plus_in_a_timestamp_is_forgiven() -> None:
    request = query(task_pb2.ListTasksRequest(), "submitted_after=2024-09-05T12:50:42 02:00")
    assert request.submitted_after.ToJsonString() == "2024-09-05T10:50:42Z"


@pytest.mark.parametrize("params", ["forse=true", "api_key=x", "nope.deeper=1", "status.x=1", "section=S&c=1"])
def test_unknown_parameters_are_400s_naming_them(params: str) -> None:
    unknown = params.split("&")[-1].split("=")[0]
    with pytest.raises(GatewayError) as caught:
        query(task_pb2.ListTasksRequest(), params)
    assert caught.value.status == 400
    assert caught.value.field_violations[0][0] == unknown
    assert caught.value.message.startswith(f"{unknown}: unknown query parameter; this route takes: key, ")


def test_nul_in_a_query_parameter_is_a_400_naming_it() -> None:
    with pytest.raises(GatewayError) as caught:
        query(task_pb2.ListTasksRequest(), "section=a\x00b")
    assert caught.value.message == "section: must not contain NUL (U+0000)"


def test_fields_bound_by_path_or_body_are_not_overwritten() -> None:
    request = task_pb2.GetTaskRequest()
    bound = bind_path(request, {"id": "5"})
    query(request, "id=7", exclude=bound)
    assert request.id == 5


@pytest.mark.parametrize(
    ("message", "text", "param"),
    [
        (task_pb2.ListTasksRequest(), "page=abc", "page"),
        (task_pb2.ListTasksRequest(), "page=1.5", "page"),
        (task_pb2.ListTasksRequest(), "page=99999999999", "page"),
        (task_pb2.ListTasksRequest(), "num_results_per_page=", "num_results_per_page"),
        (task_pb2.ListTasksRequest(), "status=BOGUS", "status"),
        (task_pb2.ListTasksRequest(), "status=99", "status"),
        (task_pb2.ListTasksRequest(), "submitted_after=yesterday", "submitted_after"),
        (task_pb2.ListTasksRequest(), "section=a&section=b", "section"),
        (catalog_pb2.ReplaceRecordsRequest(), "force=yes", "force"),
        (record_pb2.Record(), "suggested_score=high", "suggested_score"),
        (task_pb2.Task(), "progress=1", "progress"),
        (task_pb2.ListTasksResponse(), "status_counts=1", "status_counts"),
    ],
)
def test_bad_values_are_400_naming_the_parameter(message: Any, text: str, param: str) -> None:
    error = rejected(message, text)
    assert error.status == 400
    assert error.code == "INVALID_ARGUMENT"
    assert error.field_violations[0][0] == param
    assert error.message.startswith(f"{param}: ")


def test_bad_path_variable_names_the_variable() -> None:
    with pytest.raises(GatewayError) as caught:
        bind_path(task_pb2.GetTaskRequest(), {"id": "abc"})
    assert caught.value.status == 400
    assert caught.value.body()["field_violations"][0]["field"] == "id"


def test_star_body_fills_the_message_with_short_enum_names() -> None:
    request = task_pb2.ListTasksRequest()
    bound = bind_body(request, {"section": "S", "status": "failed", "numResultsPerPage": "7"}, "*")
    assert bound == {"section", "status", "num_results_per_page"}
    assert request == task_pb2.ListTasksRequest(section="S", status=task_pb2.TASK_STATUS_FAILED, num_results_per_page=7)


def test_field_body_fills_one_field() -> None:
    request = task_pb2.CancelTaskResponse()
    assert bind_body(request, {"id": "3", "status": "CANCELED"}, "task") == {"task"}
    assert request.task == task_pb2.Task(id=3, status=task_pb2.TASK_STATUS_CANCELED)


def test_empty_body_binds_nothing() -> None:
    request = batch_pb2.CreateBatchRequest()
    assert bind_body(request, None, "*") == set()


def test_nested_body_errors_name_the_json_path() -> None:
    cases = [
        ({"name": None, "fields": True}, "fields: must be a list whose values are each a JSON object, got true"),
        ({"fields": [{"name": 1}]}, "fields.name: must be a string"),
        (
            {"fields": [{"nme": 1}]},
            "fields[0].nme: unknown field; the fields here are: name, required, searchable, type",
        ),
    ]
    for body, message in cases:
        with pytest.raises(GatewayError) as caught:
            bind_body(catalog_pb2.CreateCatalogDefinitionRequest(), body, "catalog")
        assert caught.value.message == message


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ([1, 2], "body", "body: must be a JSON object"),
        ("text", "body", "body: must be a JSON object"),
        (3, "body", "body: must be a JSON object"),
        ({"no_such_field": 1}, "no_such_field", "no_such_field: unknown field; the fields here are: key, "),
        ({"page": "many"}, "page", 'page: must be an integer, got "many"'),
        ({"page": True}, "page", "page: must be an integer, got true"),
        ({"section": {"a": 1}}, "section", 'section: must be a string, got {"a":1}'),
        ({"status": None, "type": ["x"]}, "type", 'type: must be a string, got ["x"]'),
    ],
)
def test_bad_bodies_are_400_naming_the_field_in_json_terms(body: Any, field: str, message: str) -> None:
    with pytest.raises(GatewayError) as caught:
        bind_body(task_pb2.ListTasksRequest(), body, "*")
    assert caught.value.status == 400
    assert caught.value.field_violations[0][0] == field
    assert caught.value.message.startswith(message), caught.value.message
    for python in ("None", "True", "False", "{'", "'"):
        assert python not in caught.value.message
