"""One started stack per module and backend for the fuzz suites, seeded with records of every kind.

Starting a stack per example would cost more than the examples; the stack lives in a background loop
(tests/fuzz/loop.py) for the whole module, and every example checks the catalog against a snapshot
taken just before it, so examples need no isolation from each other.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from catalogingest.v1 import catalog_pb2, record_pb2
from tests.conftest import BACKENDS, Stack, _pg_url, create_pg_database, drop_pg_database, start_stack
from tests.fuzz.loop import BackgroundLoop
from tests.helpers import wait_task

# Reading back and comparing 2,000 levels of JSON recurses that deep (json.loads, the comparison).
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))

# Small limits, so bodies near and over each limit are cheap to send (limits are configuration).
LIMITS = {
    "max_body_bytes": 64 * 1024,
    "max_records_per_call": 50,
    "bulk_max_body_bytes": 48 * 1024,
    "bulk_max_items": 50,
}
TYPED_FIELDS = [
    {"name": "title", "type": "string", "searchable": True},
    {"name": "body", "type": "long text", "searchable": False},
    {"name": "price", "type": "number", "searchable": False},
    {"name": "in_stock", "type": "boolean", "searchable": False},
    {"name": "released", "type": "date", "searchable": False},
    {"name": "updated", "type": "datetime", "searchable": False},
    {"name": "tags", "type": "list", "searchable": False},
    {"name": "link", "type": "url", "searchable": False},
    {"name": "extra", "type": "json", "searchable": False},
]


@dataclass
class Seed:
    """What the fuzzed requests point at: catalogs, records, batches and ingestions that exist."""

    task_id: int
    section: str = "Products"
    typed: str = "typed"
    environment: str = "prod"
    version: str = ""
    batch_id: str = ""
    ingestion_id: str = ""


@dataclass
class Fuzz:
    loop: BackgroundLoop
    stack: Stack
    backend: str
    seed: Seed

    def run(self, coro: Any, timeout: float = 120.0) -> Any:
        return self.loop.run(coro, timeout)


async def seed_catalogs(stack: Stack) -> Seed:
    """Items, a variation and groups in `Products`; a typed catalog for the bulk API; a batch, a version and
    an ingestion in environment `prod`."""
    auth = stack.metadata()
    records = [
        record_pb2.Record(kind=record_pb2.RECORD_KIND_ITEM, id=f"i{n}", name=f"Item {n}", data_json='{"url": "u"}')
        for n in range(3)
    ]
    written = await stack.catalog.ReplaceRecords(
        catalog_pb2.ReplaceRecordsRequest(collection="items", records=records), metadata=auth
    )
    await wait_task(stack, written.task_id)
    groups = [
        record_pb2.Record(kind=record_pb2.RECORD_KIND_ITEM_GROUP, id="g0", name="G0"),
        record_pb2.Record(kind=record_pb2.RECORD_KIND_ITEM_GROUP, id="g1", parent_ids=["g0"]),
    ]
    written = await stack.catalog.ReplaceRecords(
        catalog_pb2.ReplaceRecordsRequest(collection="item_groups", records=groups), metadata=auth
    )
    await wait_task(stack, written.task_id)
    variation = record_pb2.Record(kind=record_pb2.RECORD_KIND_VARIATION, id="v0", item_id="i0", name="V0")
    written = await stack.catalog.ReplaceRecords(
        catalog_pb2.ReplaceRecordsRequest(collection="variations", records=[variation]), metadata=auth
    )
    task = await wait_task(stack, written.task_id)
    seed = Seed(task_id=task.id)

    http, headers = stack.http, stack.auth()
    answer = await http.post(
        "/data/v2/projects/acme/catalogs", json={"name": seed.typed, "fields": TYPED_FIELDS}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    scope = {"tenant": "acme", "environment": seed.environment}
    answer = await http.post("/catalogs", params={**scope, "createBatchImport": "true"}, headers=headers)
    assert answer.status_code == 200, answer.text
    seed.version = answer.json()["version"]
    answer = await http.post(
        "/batch-imports/items",
        params={**scope, "batch_id": seed.version},
        json=[{"id": "b0", "type": "product", "attributes": {"title": "B0"}}],
        headers=headers,
    )
    assert answer.status_code == 200 and answer.json()[0]["code"] == 0, answer.text
    answer = await http.post(
        "/batch-imports/ingestions",
        params=scope,
        json={"catalogVersion": seed.version, "promoteCatalogOnCompletion": True},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    seed.ingestion_id = answer.json()["id"]
    answer = await http.post("/batch-imports", params=scope, headers=headers)
    assert answer.status_code == 200, answer.text
    seed.batch_id = answer.json()["id"]
    answer = await http.post(
        "/batch-imports/items",
        params={**scope, "batch_id": seed.batch_id},
        json=[{"id": "b1", "type": "product", "attributes": {"title": "B1"}}],
        headers=headers,
    )
    assert answer.status_code == 200 and answer.json()[0]["code"] == 0, answer.text
    from tests.fuzz.snapshot import wait_quiet

    await wait_quiet(stack)
    return seed


@pytest.fixture(scope="package", params=BACKENDS)
def fuzz(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    """A seeded stack in a background loop, shared by the fuzz modules' examples on one backend (a stack's
    start and seed cost more than a hundred examples)."""
    backend: str = request.param
    loop = BackgroundLoop()
    pg_name = ""
    if backend == "postgresql":
        pg_name = loop.run(create_pg_database("ci_fuzz", request.getfixturevalue("pg_template")))
        database_url = _pg_url(pg_name)
    else:
        path = tmp_path_factory.mktemp("fuzz") / "catalog-ingest.db"
        shutil.copy(Path(request.getfixturevalue("sqlite_template")), path)
        database_url = f"sqlite:///{path}"
    context = start_stack(database_url, worker_poll_interval=0.02, bulk_rate_limit_requests=1_000_000, **LIMITS)
    stack = loop.run(context.__aenter__())
    try:
        yield Fuzz(loop, stack, backend, loop.run(seed_catalogs(stack)))
    finally:
        loop.run(context.__aexit__(None, None, None))
        if pg_name:
            loop.run(drop_pg_database(pg_name))
        loop.close()
