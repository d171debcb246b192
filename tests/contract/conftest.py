"""The store tier: a migrated database per test (both backends, through tests/conftest.py's `database_url`),
a tenant with one catalog, and the ports of service.store.ports driven directly, as a task drives them."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.db.backend import backend_of
from service.db.engine import create_engine, session_factory
from service.db.models import Tenant
from service.domain import values
from service.domain.catalogs import ensure_catalog
from service.domain.records import row_to_proto
from service.store.ports import RecordStore
from service.store.record_reads import list_records
from service.store.staged import StagedRecord

ITEM, VARIATION, GROUP = 1, 2, 3
T0 = dt.datetime(2024, 9, 5, 10, 50, 42, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    """A write time `seconds` after T0."""
    return T0 + dt.timedelta(seconds=seconds)


def op(
    record_id: str,
    kind: int = ITEM,
    *,
    seq: int = 0,
    context: str = "",
    data: dict[str, Any] | None = None,
    ts: float = 0,
    **fields: Any,
) -> StagedRecord:
    """One staged operation; `name`, `suggested_score`, `item_id` and `parent_ids` are given only when passed
    (a merge changes only what it is given), `data` in its canonical text as submission writes it."""
    parent_ids = fields.get("parent_ids")
    return StagedRecord(
        seq=seq,
        kind=kind,
        record_id=record_id,
        context=context,
        name=fields.get("name"),
        has_name="name" in fields,
        suggested_score=fields.get("suggested_score"),
        has_score="suggested_score" in fields,
        parent_id=fields.get("item_id"),
        has_parent="item_id" in fields,
        parent_ids=json.dumps(parent_ids) if parent_ids is not None else (None if kind != GROUP else "[]"),
        has_parent_ids="parent_ids" in fields,
        data=values.dumps(data or {}),
        op_ts=at(ts),
    )


def numbered(records: Iterable[StagedRecord]) -> list[StagedRecord]:
    """The operations in the order given (seq 0, 1, 2...)."""
    return [r._replace(seq=n) for n, r in enumerate(records)]


@dataclass
class Catalog:
    engine: AsyncEngine
    catalog_id: int
    version_id: int

    @contextlib.asynccontextmanager
    async def task(self) -> AsyncIterator[tuple[AsyncConnection, RecordStore]]:
        """One task's transaction and its record store; an exception rolls everything back."""
        async with self.engine.begin() as conn:
            yield conn, await backend_of(conn).record_store(conn, self.version_id)

    async def write(self, how: str, records: Iterable[StagedRecord], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Stage `records` and apply them with the store's `how` (replace, merge, delete, sync)."""
        async with self.task() as (_conn, store):
            await store.stage(numbered(records))
            return await getattr(store, how)(*args, **kwargs)

    async def read(self, kind: int = ITEM) -> dict[str, dict[str, Any]]:
        """The stored records of a kind as a user reads them, by id (with `@context` when there is one)."""
        return {key: record for key, record in await self.listing(kind)}

    async def listing(self, kind: int = ITEM) -> list[tuple[str, dict[str, Any]]]:
        async with self.engine.connect() as conn:
            _total, rows = await list_records(conn, self.version_id, kind, [], 10_000)
        listed = []
        for row in rows:
            record = row_to_proto(row)
            shown: dict[str, Any] = {"data": values.loads(record.data_json), "ts": record.timestamp.ToDatetime(dt.UTC)}
            if record.HasField("name"):
                shown["name"] = record.name
            if record.HasField("suggested_score"):
                shown["suggested_score"] = record.suggested_score
            if record.HasField("item_id"):
                shown["item_id"] = record.item_id
            if record.parent_ids:
                shown["parent_ids"] = list(record.parent_ids)
            listed.append((record.id + (f"@{record.context}" if record.context else ""), shown))
        return listed


@pytest.fixture
async def catalog(database_url: str) -> AsyncIterator[Catalog]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            tenant = Tenant(name="acme")
            session.add(tenant)
            await session.commit()
            found = await ensure_catalog(session, tenant.id, "Products")
        assert found.active_version_id is not None
        yield Catalog(engine, found.id, found.active_version_id)
    finally:
        await engine.dispose()
