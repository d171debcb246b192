"""Every documented REST path, fuzzed with a Hypothesis strategy of its own, against the clear-error oracle
(tests/fuzz/oracle.py): a 4xx naming the problem with nothing changed, or exactly what was sent stored.

The known cases of issue 11 #4 are pinned with @example so every run tries them.
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.figures import record
from tests.fuzz import http_batch, http_bulk, http_records, http_upload
from tests.fuzz.conftest import Fuzz, Seed
from tests.fuzz.http_common import encode_query
from tests.fuzz.oracle import HttpCase, check_http
from tests.fuzz.tally import Tally
from tests.fuzz.values import dumps, nested, page_token_of

# Examples per path in CI, times the `budget` fixture: both suites on both backends stay within ~40 s.
EXAMPLES = 3


def strategies(seed: Seed) -> dict[str, st.SearchStrategy[HttpCase]]:
    return {
        "PUT /v2/{collection}": http_records.records_write("PUT"),
        "PATCH /v2/{collection}": http_records.records_write("PATCH"),
        "DELETE /v2/{collection}": http_records.records_write("DELETE"),
        "GET /v2/{collection}": http_records.records_read(),
        "GET /v1/tasks/{id}": http_records.task_get(seed),
        "GET /v1/tasks": http_records.task_list(),
        "POST /v1/tasks/{id}:cancel": http_records.task_cancel(seed),
        "GET /status/ingestion": http_records.status_ingestion(),
        "PUT|PATCH /v1/catalog": http_upload.upload(),
        "PUT|PATCH /v1/catalog (framing)": http_upload.upload_framing(),
        "PUT .../items": http_bulk.bulk_write(False),
        "POST .../items/partial-update": http_bulk.bulk_write(True),
        "POST /data/v2/projects/{project_id}/catalogs": http_bulk.definition_create(),
        "PATCH /data/v2/projects/{project_id}/catalogs/{catalog_id}": http_bulk.definition_add_fields(),
        "GET /data/v2/projects/{project_id}/catalogs[/{catalog_id}]": http_bulk.definition_read(),
        "POST /batch-imports": http_batch.batch_create_or_list(seed, "POST"),
        "GET /batch-imports": http_batch.batch_create_or_list(seed, "GET"),
        "POST /batch-imports/items": http_batch.batch_items(seed, "add"),
        "PATCH /batch-imports/items": http_batch.batch_items(seed, "modify"),
        "POST /batch-imports/items/delete": http_batch.batch_items(seed, "delete"),
        "POST /batch-imports/ingestions": http_batch.ingestion_create(seed),
        "GET|DELETE /batch-imports/ingestions[/{id}]": http_batch.ingestion_read(seed),
        "/catalogs...": http_batch.versions(seed),
    }


def known_cases(seed: Seed) -> list[tuple[str, HttpCase]]:
    """Issue 11 #4 (the 5xx answers of the first fuzzing round) and issue 10 #1, by the strategy they belong to."""
    scope = f"tenant=acme&environment={seed.environment}"
    csv = http_upload.multipart([http_upload.file_part("items", b"id\r\nx\r\n")], b"fz")
    big = "b" * 100_000
    cases = [
        (
            "PUT /v2/{collection}",
            HttpCase(
                "PUT /v2/{collection}",
                "hostile data (deep)",
                "PUT",
                "/v2/items",
                "key=acme",
                dumps({"items": [{"id": "deep", "data": nested(600)}]}),
                names=("data", "items[0]", "nest", "deep"),
            ),
        ),
        (
            "PUT .../items",
            HttpCase(
                "PUT .../items",
                "hostile properties,deep",
                "PUT",
                "/data/v2/projects/acme/catalogs/typed/items",
                "",
                dumps([{"item_id": "deep", "properties": {"extra": nested(300)}}]),
                names=("properties", "extra", "deep"),
            ),
        ),
        (
            "POST /batch-imports/items",
            HttpCase(
                "POST /batch-imports/items",
                "hostile attributes (deep)",
                "POST",
                "/batch-imports/items",
                f"{scope}&batch_id={seed.batch_id}",
                dumps([{"id": "deep", "type": "p", "attributes": nested(1000)}]),
                names=("attributes", "nest", "deep"),
            ),
        ),
        (
            "POST /batch-imports/items",
            HttpCase(
                "POST /batch-imports/items",
                "hostile batch_id",
                "POST",
                "/batch-imports/items",
                f"{scope}&batch_id=a%00b",
                b'[{"id": "x", "type": "p", "attributes": {}}]',
                names=("batch_id", "batch"),
            ),
        ),
        (
            "PUT|PATCH /v1/catalog",
            HttpCase(
                "PUT /v1/catalog",
                "huge boundary",
                "PUT",
                "/v1/catalog",
                "key=acme&section=csv",
                http_upload.multipart([http_upload.file_part("items", b"id\r\nx\r\n")], big.encode()),
                {"Content-Type": f"multipart/form-data; boundary={big}"},
                names=("boundary", "content-type"),
            ),
        ),
        (
            "PUT|PATCH /v1/catalog",
            HttpCase(
                "PUT /v1/catalog",
                "no closing boundary",
                "PUT",
                "/v1/catalog",
                "key=acme&section=csv&force=true",
                csv[: csv.rindex(b"--fz--")],
                {"Content-Type": "multipart/form-data; boundary=fz"},
                names=("boundary", "body", "multipart"),
                must_refuse="the upload did not end properly (R10)",
            ),
        ),
    ]
    for token in ({"before": "x"}, {"before": []}, {"before": 2**70}):
        cases.append(
            (
                "GET /v1/tasks",
                HttpCase(
                    "GET /v1/tasks",
                    "hostile page_token",
                    "GET",
                    "/v1/tasks",
                    encode_query([("page_token", page_token_of(token))]),
                    names=("page_token",),
                ),
            )
        )
    for param in ("section", "type"):
        cases.append(
            (
                "GET /v1/tasks",
                HttpCase("GET /v1/tasks", f"hostile {param}", "GET", "/v1/tasks", f"{param}=a%00b", names=(param,)),
            )
        )
    cases.append(
        (
            "GET /v2/{collection}",
            HttpCase(
                "GET /v2/{collection}", "hostile section", "GET", "/v2/items", "section=a%00b", names=("section",)
            ),
        )
    )
    for method in ("GET", "POST"):
        cases.append(
            (
                f"{method} /batch-imports",
                HttpCase(
                    f"{method} /batch-imports",
                    "hostile environment",
                    method,
                    "/batch-imports",
                    "tenant=acme&environment=a%00b",
                    names=("environment",),
                ),
            )
        )
    return cases


def run_suite(fuzz: Fuzz, budget: int) -> Tally:
    tally = Tally(f"fuzz http [{fuzz.backend}]")
    for label, strategy in strategies(fuzz.seed).items():

        def sample(case: HttpCase) -> None:
            fuzz.run(check_http(fuzz.stack, tally, case))

        for key, case in known_cases(fuzz.seed):
            if key == label:
                sample = example(case=case)(sample)
        settings(max_examples=EXAMPLES * budget, deadline=None, database=None, suppress_health_check=list(HealthCheck))(
            given(case=strategy)(sample)
        )()
    return tally


def test_every_rest_path_answers_clearly_or_stores_what_was_sent(fuzz: Fuzz, budget: int) -> None:
    tally = run_suite(fuzz, budget)
    record(tally.suite, **tally.figures())
    assert not tally.findings, tally.report()
