"""Resolving the documents' names for a catalog (section, catalog_id, environment) to one catalog."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service import log_context
from service.db.models import Batch, Catalog, CatalogVersion, Ingestion, Record, Task
from service.db.upsert import insert_ignore
from service.error_reasons import ErrorReason
from service.errors import InvalidArgument, NotFound
from service.timeutil import utcnow

MAX_NAME = 200
log = logging.getLogger(__name__)


def check_name(name: str, parameter: str) -> str:
    if not name or len(name) > MAX_NAME:
        raise InvalidArgument(
            f"{parameter} must be 1 to {MAX_NAME} characters",
            field_violations=[(parameter, "must be 1 to 200 characters")],
        )
    if not name.isprintable():
        raise InvalidArgument(
            f"{parameter} must not contain control characters",
            field_violations=[(parameter, "must not contain control characters")],
        )
    return name


async def find_catalog(session: AsyncSession, tenant_id: int, name: str) -> Catalog | None:
    if "\x00" in name:  # cannot be stored (PostgreSQL text), so no catalog has it
        return None
    catalog = (
        await session.execute(select(Catalog).where(Catalog.tenant_id == tenant_id, Catalog.name == name))
    ).scalar_one_or_none()
    if catalog is not None:
        log_context.bind(catalog=catalog.name)  # the RPC's log lines name the catalog it works on
    return catalog


async def get_catalog(session: AsyncSession, tenant_id: int, name: str, parameter: str = "section") -> Catalog:
    catalog = await find_catalog(session, tenant_id, check_name(name, parameter))
    if catalog is None:
        raise NotFound(f"{parameter} '{name}' not found", reason=ErrorReason.CATALOG_NOT_FOUND)
    return catalog


async def ensure_catalog(session: AsyncSession, tenant_id: int, name: str, parameter: str = "section") -> Catalog:
    """The catalog, created with an active first version on first use (safe under concurrent callers)."""
    catalog, _ = await ensure_catalog_created(session, tenant_id, name, parameter)
    return catalog


async def ensure_catalog_created(
    session: AsyncSession, tenant_id: int, name: str, parameter: str = "section"
) -> tuple[Catalog, bool]:
    """`ensure_catalog`, and whether this call created the catalog's first version."""
    check_name(name, parameter)
    catalog = await find_catalog(session, tenant_id, name)
    if catalog is not None and catalog.active_version_id is not None:
        return catalog, False
    created = False
    await session.execute(
        insert_ignore(session, Catalog, [{"tenant_id": tenant_id, "name": name}], ["tenant_id", "name"])
    )
    catalog = (
        await session.execute(
            select(Catalog).where(Catalog.tenant_id == tenant_id, Catalog.name == name).with_for_update()
        )
    ).scalar_one()
    if catalog.active_version_id is None:
        version = CatalogVersion(catalog_id=catalog.id, version=1, activated_at=utcnow())
        session.add(version)
        await session.flush()
        await session.execute(update(Catalog).where(Catalog.id == catalog.id).values(active_version_id=version.id))
        catalog.active_version_id = version.id
        created = True
    await session.commit()
    return catalog, created


@contextlib.asynccontextmanager
async def catalog_for_write(
    sessions: async_sessionmaker[AsyncSession], tenant_id: int, name: str, parameter: str = "section"
) -> AsyncIterator[Catalog]:
    """The catalog a write names, created on first use; when the write fails (or is cancelled) and this
    call created the catalog, it is removed again: a refused request changes nothing."""
    key = (tenant_id, name)
    use = _uses.setdefault(key, _Use())
    use.writes += 1
    try:
        async with use.lock, sessions() as session:
            catalog, created = await ensure_catalog_created(session, tenant_id, name, parameter)
        log_context.bind(catalog=catalog.name)
        try:
            yield catalog
        except BaseException:
            if created:
                # Runs to its end even when the request is cancelled.
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(asyncio.ensure_future(_drop_if_unused(sessions, catalog.id, use)))
            raise
    finally:
        use.writes -= 1
        if not use.writes:
            del _uses[key]


class _Use:
    """The writes of this process to one catalog name, from finding the catalog to their end. A failed write
    removes the catalog it created only when no other write holds it, under `lock`, which finding the catalog
    also takes: a write that starts meanwhile (a client retrying at once after a cancel) finds the catalog
    before the removal (which then leaves it) or after it (and creates it again). Across processes the window
    left is that of two short transactions of one write."""

    def __init__(self) -> None:
        self.writes = 0
        self.lock = asyncio.Lock()


_uses: dict[tuple[int, str], _Use] = {}


async def _drop_if_unused(sessions: async_sessionmaker[AsyncSession], catalog_id: int, use: _Use) -> None:
    """Delete a catalog nothing has used yet (no task, batch, ingestion or record, no other write of this
    process): one a failed write created. The failed write itself counts once in `use.writes`."""
    try:
        async with use.lock, sessions() as session:
            if use.writes > 1:
                return
            row = (
                await session.execute(select(Catalog.id).where(Catalog.id == catalog_id).with_for_update())
            ).scalar_one_or_none()
            versions = select(CatalogVersion.id).where(CatalogVersion.catalog_id == catalog_id)
            used = (
                await session.execute(
                    select(
                        exists().where(Task.catalog_id == catalog_id)
                        | exists().where(Batch.catalog_id == catalog_id)
                        | exists().where(Ingestion.catalog_id == catalog_id)
                        | exists().where(Record.version_id.in_(versions))
                    )
                )
            ).scalar_one()
            if row is None or used:
                return
            await session.execute(delete(CatalogVersion).where(CatalogVersion.catalog_id == catalog_id))
            await session.execute(delete(Catalog).where(Catalog.id == catalog_id))
            await session.commit()
    except Exception as exc:
        log.warning("catalog %d of a failed write not removed (%s)", catalog_id, type(exc).__name__)
