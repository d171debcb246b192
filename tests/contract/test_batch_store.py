"""Batch conformance: the batch item writes (Backend.write_batch_items, through service.domain.batch_items) and the
set-based ingestion of a batch into a catalog version (service.store.batch_ingest) give the same results on
PostgreSQL (both its write paths: multi-row VALUES and COPY) and SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from catalogingest.v1 import batch_pb2
from service.db.engine import session_factory
from service.db.models import BatchItem
from service.domain import batch_items
from service.domain.batches import new_batch
from service.errors import NotFound
from service.store import postgres_backend
from service.store.batch_ingest import BatchIngest
from tests.conftest import BACKENDS
from tests.contract.conftest import ITEM, Catalog, op

each_write_path = pytest.mark.parametrize(
    ("backend", "write_path"),
    [(b, path) for b in BACKENDS for path in (("values", "copy") if b == "postgresql" else ("values",))],
    indirect=True,
)


@pytest.fixture
def write_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "copy":
        monkeypatch.setattr(postgres_backend, "COPY_FROM_ROWS", 1)
    return request.param


@pytest.fixture
async def batch(catalog: Catalog) -> AsyncIterator[str]:
    async with session_factory(catalog.engine)() as session:
        created = new_batch(catalog.catalog_id, 3600)
        session.add(created)
        await session.commit()
    yield created.id


def item(item_id: str, ts: str, attributes: dict[str, Any] | None = None, **fields: Any) -> batch_pb2.BatchItem:
    given = {"id": item_id, "type": "product", "timestamp": ts, **fields}
    if attributes is not None:
        given["attributes_json"] = orjson.dumps(attributes).decode()
    return batch_pb2.BatchItem(**given)


async def send(catalog: Catalog, batch: str, op_: batch_items.Operation, *items: batch_pb2.BatchItem) -> list[int]:
    async with session_factory(catalog.engine)() as session:
        results = await batch_items.write_items(session, batch, op_, items)
    return [int(r.code) for r in results]


async def stored(catalog: Catalog, batch: str) -> dict[str, tuple[Any, bool, bool]]:
    """(attributes, deleted, partial) of each item of the batch."""
    table = BatchItem.__table__
    async with catalog.engine.connect() as conn:
        rows = await conn.execute(
            select(table.c.item_id, table.c.attributes, table.c.deleted, table.c.partial).where(
                table.c.batch_id == batch
            )
        )
        return {row.item_id: (row.attributes, row.deleted, row.partial) for row in rows}


@each_write_path
async def test_adds_modifications_and_deletes_converge_by_timestamp(
    catalog: Catalog, batch: str, write_path: str
) -> None:
    t1, t2, t3 = "2024-01-01T00:00:01Z", "2024-01-01T00:00:02Z", "2024-01-01T00:00:03Z"
    codes = await send(
        catalog,
        batch,
        "add",
        item("a", t2, {"title": "A", "price": 1}),
        item("b", t1, {"title": "B"}),
        item("a", t1, {"title": "older"}),
    )
    assert codes == [0, 0, 0]
    await send(catalog, batch, "modify", item("a", t3, {"price": 2, "new": True}), item("ghost", t1, {"x": 1}))
    await send(catalog, batch, "delete", item("b", t2))
    await send(catalog, batch, "modify", item("b", t3, {"late": 1}))
    assert await stored(catalog, batch) == {
        "a": ({"title": "A", "price": 2, "new": True}, False, False),
        "ghost": ({"x": 1}, False, True),
        "b": (None, True, False),
    }


@each_write_path
async def test_a_modification_merges_attributes_shallowly(catalog: Catalog, batch: str, write_path: str) -> None:
    """A modification replaces each attribute it names as a whole: facets included (they are one attribute
    here, unlike a record merge)."""
    await send(catalog, batch, "add", item("a", "2024-01-01T00:00:01Z", {"facets": {"color": ["blue"], "size": ["M"]}}))
    await send(catalog, batch, "modify", item("a", "2024-01-01T00:00:02Z", {"facets": {"color": ["red"]}}))
    assert (await stored(catalog, batch))["a"][0] == {"facets": {"color": ["red"]}}


@each_write_path
async def test_a_purged_batch_is_not_found(catalog: Catalog, batch: str, write_path: str) -> None:
    with pytest.raises(NotFound) as raised:
        await send(catalog, "purged", "add", item("a", "2024-01-01T00:00:01Z", {"x": 1}))
    assert raised.value.reason == "BATCH_NOT_FOUND"


async def ingest(catalog: Catalog, batch: str, *, source: str = "feed", delete_missing: bool = False) -> dict[str, Any]:
    async with catalog.engine.begin() as conn:
        ingest = BatchIngest(conn, batch, catalog.version_id)
        await ingest.prepare()
        counts = await ingest.counts()
        await ingest.refresh_statistics(catalog.engine)
        await ingest.check_structure(1)
        await ingest.check_group_links(1)
        errors, summary = await ingest.error_summary()
        upserted = await ingest.upsert(source)
        if counts.partial:
            upserted += await ingest.merge_partial()
        deleted = await ingest.apply_tombstones() if counts.deleted else 0
        if delete_missing:
            deleted += await ingest.delete_missing(source)
        if deleted:
            deleted += await ingest.cascade_variations(tombstones_only=not delete_missing)
    return {"counts": tuple(counts), "errors": errors, "summary": summary, "upserted": upserted, "deleted": deleted}


async def test_ingestion_writes_merges_deletes_and_reports_item_errors(catalog: Catalog, batch: str) -> None:
    facets = {"color": ["blue"], "size": ["M"]}
    await catalog.write(
        "replace", [op("kept", data={"a": 1, "facets": facets}, ts=-1e9), op("old", ts=-1e9), op("gone", ts=-1e9)]
    )
    ts = "2024-01-01T00:00:01Z"
    await send(
        catalog,
        batch,
        "add",
        item("new", ts, {"title": "N", "group_ids": ["nope"]}),
        item("fresh", ts, {"title": "F"}),
        item("variant", ts, {"size": "M"}, parent_id="fresh"),
        item("orphan", ts, {"size": "L"}, parent_id="nobody"),
    )
    await send(
        catalog,
        batch,
        "modify",
        item("kept", ts, {"b": 2, "facets": {"color": ["red"]}}),
        item("missing", ts, {"x": 1}),
    )
    await send(catalog, batch, "delete", item("gone", ts))
    result = await ingest(catalog, batch)
    assert result["counts"] == (6, 2, 1)
    assert result["errors"] == 3
    assert {kind: s["sample_ids"] for kind, s in result["summary"].items()} == {
        "MISSING_GROUP": ["new"],
        "MISSING_ITEM": ["missing"],
        "MISSING_PARENT": ["orphan"],
    }
    assert (result["upserted"], result["deleted"]) == (3, 1)
    items = await catalog.read(ITEM)
    assert set(items) == {"kept", "old", "fresh"}
    # Attributes merge shallowly, as batch modifications do: the facets given replace the record's.
    assert items["kept"]["data"] == {"a": 1, "b": 2, "facets": {"color": ["red"]}}
    assert set(await catalog.read(2)) == {"variant"}


async def test_ingestion_delete_missing_keeps_other_sources(catalog: Catalog, batch: str) -> None:
    await catalog.write("replace", [op("other-api", ts=-1e9)])
    ts = "2024-01-01T00:00:01Z"
    await send(catalog, batch, "add", item("a", ts, {"x": 1}), item("b", ts, {"x": 2}))
    await ingest(catalog, batch)
    async with session_factory(catalog.engine)() as session:
        second = new_batch(catalog.catalog_id, 3600)
        session.add(second)
        await session.commit()
    await send(catalog, second.id, "add", item("a", "2024-01-01T00:00:02Z", {"x": 3}))
    result = await ingest(catalog, second.id, delete_missing=True)
    assert (result["upserted"], result["deleted"]) == (1, 1)
    items = await catalog.read(ITEM)
    assert set(items) == {"a", "other-api"}
    assert items["a"]["data"] == {"x": 3}
