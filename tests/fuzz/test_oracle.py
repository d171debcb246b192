"""The fuzz suites' own parts, without a stack: an oracle that always passed would hide every finding."""

from __future__ import annotations

import json

from tests.fuzz.http_common import encode_query
from tests.fuzz.oracle import HttpCase, names_problem
from tests.fuzz.readback import same
from tests.fuzz.snapshot import Snapshot
from tests.fuzz.tally import Tally
from tests.fuzz.values import Pairs, Raw, breaks_id_rule, dumps, has_nul, nested


def test_the_json_writer_says_what_json_dumps_cannot() -> None:
    assert dumps({"a": [1, Raw(b"1e400"), "\ud800"]}) == b'{"a":[1,1e400,"\\ud800"]}'
    assert dumps(Pairs((("k", 1), ("k", 2)))) == b'{"k":1,"k":2}'
    deep = dumps(nested(2000))
    assert deep.count(b"{") == 2000 and json.loads(deep) is not None
    assert has_nul(nested(2000, {"x": "a\x00"})) and not has_nul(nested(2000))


def test_the_id_rule() -> None:
    assert not any(breaks_id_rule(i) for i in ("my item", "café-☕", "a?b#c", "x" * 256))
    assert all(breaks_id_rule(i) for i in ("", " lead", "trail ", "a/b", "a\tb", "a\x00b", "\x9a", "x" * 257, 5))


def test_an_error_must_name_what_was_wrong() -> None:
    assert names_problem("items[0].data: nested too deeply", ("data",))
    assert names_problem("invalid", ("page_token",), ["page_token"])
    assert not names_problem("internal error; see the server log", ("data", "body"))
    assert not names_problem("", ("body",))


def test_numbers_compare_by_value_booleans_by_type() -> None:
    assert same({"a": [1, 2.0]}, {"a": [1.0, 2]}) and same(10**20, 1e20)
    assert not same(True, 1) and not same({"a": 1}, {"a": 1, "b": None}) and not same("1", 1)


def test_a_snapshot_diff_allows_only_a_new_empty_catalog_when_asked() -> None:
    before = Snapshot({"catalogs": ["1|a"], "records": ["r1"]}, 3)
    created = Snapshot({"catalogs": ["1|a", "2|b"], "records": ["r1"]}, 4)
    assert before.diff(created) and not before.diff(created, new_catalogs=True)
    assert before.diff(Snapshot({"catalogs": ["1|a", "2|b"], "records": []}, 4), new_catalogs=True)


def test_unknown_query_parameters_must_be_refused() -> None:
    case = HttpCase("GET /v1/tasks", "x", "GET", "/v1/tasks", encode_query([("key", "acme"), ("forse", "true")]))
    assert "forse" in case.must_refuse
    assert not HttpCase("GET /v1/tasks", "x", "GET", "/v1/tasks", "key=acme").must_refuse


def test_a_tally_counts_everything_and_keeps_one_example_per_failure() -> None:
    tally = Tally("t")
    tally.add("GET /v1/tasks", "hostile page_token", ["fivexx"], "GET /v1/tasks?page_token=x", "500")
    tally.add("GET /v1/tasks", "hostile page_token", ["fivexx"], "GET /v1/tasks?page_token=y", "500")
    tally.add("GET /v1/tasks", "hostile type", ["clear_error"], "GET /v1/tasks?type=%00", "400")
    assert tally.figures()["tried"] == 3 and tally.figures()["fivexx"] == 2 and tally.figures()["clear_error"] == 1
    assert len(tally.findings) == 1 and "x2" in tally.report() and "page_token=x" in tally.report()
