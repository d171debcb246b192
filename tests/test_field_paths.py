"""FieldPath: paths are segments, a stream's offset is an addition, a rename maps one segment, and any text
parses and renders back unchanged (so a user's key holding `.`, `[` or `records[` is never rewritten)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from catalogingest.v1 import catalog_pb2
from gateway.shapes.records import records_error
from service.domain.field_paths import FieldPath
from service.errors import InvalidArgument


def test_built_paths_render_as_the_bad_request_field() -> None:
    where = FieldPath.of("records", 3)
    assert str(where / "data" / "tags" / 2) == "records[3].data.tags[2]"
    assert str(FieldPath.of("header") / FieldPath.parse("collection")) == "header.collection"
    assert str(FieldPath()) == ""


def test_parse_splits_names_and_indices() -> None:
    assert FieldPath.parse("records[12].parent_ids[0]").segments == ("records", 12, "parent_ids", 0)
    assert FieldPath.parse("batch.records").segments == ("batch", "records")


def test_offset_is_an_addition_to_the_first_index() -> None:
    path = FieldPath.parse("records[3].data.records[1]")
    assert str(path.shifted("records", 2014)) == "records[2017].data.records[1]"
    assert str(FieldPath.parse("records").shifted("records", 5)) == "records"
    assert str(FieldPath.parse("header.records[1]").shifted("records", 5)) == "header.records[1]"


def test_rename_maps_the_first_segment_only() -> None:
    assert str(FieldPath.parse("records[3].data.records[1]").renamed("records", "items")) == "items[3].data.records[1]"
    assert str(FieldPath.parse("records").renamed("records", "items")) == "items"
    assert str(FieldPath.parse("recordsx[1]").renamed("records", "items")) == "recordsx[1]"


@given(st.text(alphabet=st.sampled_from("ab.[]019_ré"), max_size=24) | st.text(max_size=24))
def test_any_text_parses_and_renders_back(text: str) -> None:
    assert str(FieldPath.parse(text)) == text


@given(st.text(alphabet=st.sampled_from("ab.[]019_ré"), max_size=24) | st.text(max_size=24))
def test_shift_and_rename_touch_only_the_head(rest: str) -> None:
    path = FieldPath.parse("records[3]" + rest)
    assert str(path.shifted("records", 7)) == "records[10]" + rest
    assert str(path.renamed("records", "items")) == "items[3]" + rest


def test_domain_errors_keep_paths_and_render_them_quoted() -> None:
    long_key = "k" * 150
    error = InvalidArgument("bad", field_violations=[(FieldPath.of("records", 0, "data", long_key), "too long")])
    assert error.violations[0][0].segments == ("records", 0, "data", long_key)
    ((field, description),) = error.field_violations
    assert field == ("records[0].data." + long_key)[:100] + "…" and description == "too long"
    error.field_violations = [(path.shifted("records", 1000), d) for path, d in error.violations]
    assert error.field_violations[0][0].startswith("records[1000].data.kkk")


def test_gateway_renames_paths_not_text_that_looks_like_one() -> None:
    """A data key named `records[0]` stays as the caller wrote it; the path's own `records` is renamed."""
    body = {
        "message": "records[4].data.records[0]: must not contain NUL",
        "code": "INVALID_ARGUMENT",
        "field_violations": [{"field": "records[4].data.records[0]", "description": "must not contain NUL"}],
    }
    renamed = records_error(catalog_pb2.ReplaceRecordsRequest(collection="items"), body)
    assert renamed["message"] == "items[4].data.records[0]: must not contain NUL"
    assert renamed["field_violations"][0]["field"] == "items[4].data.records[0]"


def test_gateway_renames_the_message_of_a_quoted_path() -> None:
    field = "records[1].data." + "k" * 120
    body = {
        "message": f"{field}: too deep",
        "code": "INVALID_ARGUMENT",
        "field_violations": [{"field": field[:100] + "…", "description": "too deep"}],
    }
    renamed = records_error(catalog_pb2.ReplaceRecordsRequest(collection="item_groups"), body)
    assert renamed["message"] == f"item_groups{field.removeprefix('records')}: too deep"
    assert renamed["field_violations"][0]["field"] == ("item_groups" + field.removeprefix("records"))[:104] + "…"
