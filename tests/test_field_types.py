"""Field definitions and property checks (pure functions; the HTTP and gRPC tests cover them end to end)."""

from __future__ import annotations

from typing import Any

import pytest

from service.domain.field_types import FIELD_TYPES, FieldDef, add_fields, check_properties, parse_fields, stored_fields
from service.errors import FailedPrecondition, InvalidArgument

GOOD_AND_BAD: dict[str, tuple[list[Any], list[Any]]] = {
    "string": (["iMac", ""], [3, True, ["a"], "x" * 1001]),
    "long text": (["x" * 5000], [1.5, {"a": 1}]),
    "number": ([0, -3, 19.99], ["19.99", True, float("nan")]),
    "boolean": ([True, False], ["true", 1, 0]),
    "date": ([0, 1_700_000_000], ["2024-01-01", -1, 1_700_000_000_000_000, False]),
    "datetime": ([1_700_000_000.5], ["2024-01-01T00:00:00Z", True]),
    "duration": ([0, 3600], [-1, "PT1H"]),
    "list": ([[], ["a", 1, True]], ["a,b", [{"a": 1}], [[1]]]),
    "url": (["https://example.com/p/1", "http://x.io"], ["example.com/p", "ftp://x.io/a", "https://", 5]),
    "json": ([{"a": [1, {"b": None}]}, [1, 2], "text", 3], []),
}


def test_every_type_has_cases() -> None:
    assert set(GOOD_AND_BAD) == set(FIELD_TYPES)


@pytest.mark.parametrize("type_", FIELD_TYPES)
def test_type_checks(type_: str) -> None:
    fields = {"f": FieldDef("f", type_)}
    good, bad = GOOD_AND_BAD[type_]
    for value in good:
        assert check_properties(fields, {"f": value}, partial=False) == [], value
    for value in bad:
        errors = check_properties(fields, {"f": value}, partial=False)
        assert len(errors) == 1 and errors[0].startswith(f"Field 'f' ({type_})"), (value, errors)


def test_undefined_fields_are_named_as_the_document_shows() -> None:
    fields = {"name": FieldDef("name", "string")}
    errors = check_properties(fields, {"name": "iMac", "price_discounted": 1}, partial=True)
    assert errors == ["Fields ['price_discounted'] are not properly defined."]


def test_required_fields_and_null() -> None:
    fields = {"sku": FieldDef("sku", "string", required=True), "note": FieldDef("note", "string")}
    assert check_properties(fields, {"note": None}, partial=False) == ["Field 'sku' is required."]
    assert check_properties(fields, {"note": None}, partial=True) == []
    assert check_properties(fields, {"sku": None}, partial=True) == ["Field 'sku' is required and cannot be null."]


def test_a_catalog_without_fields_accepts_anything() -> None:
    assert check_properties({}, {"anything": {"goes": 1}}, partial=False) == []


def test_parse_fields_names_every_problem() -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_fields([{"name": "a", "type": "text"}, {"type": "number"}, {"name": "a", "type": "url", "x": 1}, 3])
    fields = [field for field, _ in caught.value.field_violations]
    assert fields == ["fields[0].type", "fields[1].name", "fields[2].x", "fields[2].name", "fields[3]"]


def test_parse_and_store_round_trip() -> None:
    parsed = parse_fields([{"name": "title", "type": "string", "searchable": True}, {"name": "d", "type": "date"}])
    assert stored_fields([f.to_json() for f in parsed]) == {f.name: f for f in parsed}


def test_add_fields_appends_and_refuses_type_changes() -> None:
    existing = {"price": FieldDef("price", "number")}
    merged = add_fields(existing, [FieldDef("price", "number", searchable=True), FieldDef("url", "url")])
    assert list(merged) == ["price", "url"] and merged["price"].searchable
    with pytest.raises(FailedPrecondition, match="'price' is of type 'number' and cannot become 'string'"):
        add_fields(existing, [FieldDef("price", "string")])
