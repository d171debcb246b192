"""Catalog versions: create, list, promote (one atomic switch, keeping a few previous versions), delete.

Versions are numbered per catalog (1, 2, ...); the APIs name them by that number as a string.
Exactly one version is active; reads and deltas go to it. A version that was active keeps its
`activated_at`, so the previous versions can be told apart from ones never activated (which may
still be loading and are never pruned).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.db.models import Catalog, CatalogVersion, Record
from service.error_reasons import ErrorReason
from service.errors import FailedPrecondition, InvalidArgument, NotFound, quote
from service.timeutil import as_utc, utcnow

Conn = AsyncSession | AsyncConnection


@dataclass(frozen=True)
class VersionInfo:
    id: int
    version: int
    active: bool
    created_at: dt.datetime
    activated_at: dt.datetime | None
    item_count: int


def parse_version(text: str, parameter: str = "version") -> int:
    # ASCII digits only: str.isdigit() also takes '²' and other digits int() refuses.
    if not (text.isascii() and text.strip().isdigit()) or not 0 < int(text) < 2**31:
        raise InvalidArgument(
            f"{parameter} must be a catalog version number (got '{quote(text)}')",
            field_violations=[(parameter, "must be a catalog version number")],
        )
    return int(text)


async def lock_catalog(conn: Conn, catalog_id: int) -> int | None:
    """Serialize version changes of one catalog; returns its active version id.

    A write first: it locks the catalog's row on PostgreSQL and takes SQLite's one write lock, so the
    transaction never has to upgrade a read (which SQLite refuses once another writer committed)."""
    await conn.execute(
        update(Catalog).where(Catalog.id == catalog_id).values(active_version_id=Catalog.active_version_id)
    )
    return (await conn.execute(select(Catalog.active_version_id).where(Catalog.id == catalog_id))).scalar_one()


async def create_version(conn: Conn, catalog_id: int) -> CatalogVersion:
    """A new, empty, inactive version numbered after the highest one."""
    await lock_catalog(conn, catalog_id)
    highest = (
        await conn.execute(select(func.max(CatalogVersion.version)).where(CatalogVersion.catalog_id == catalog_id))
    ).scalar_one()
    now = utcnow()
    number = (highest or 0) + 1
    inserted = await conn.execute(
        CatalogVersion.__table__.insert()
        .values(catalog_id=catalog_id, version=number, created_at=now)
        .returning(CatalogVersion.id)
    )
    return CatalogVersion(id=inserted.scalar_one(), catalog_id=catalog_id, version=number, created_at=now)


async def get_version(conn: Conn, catalog_id: int, number: int) -> CatalogVersion:
    row = (
        await conn.execute(
            select(CatalogVersion.__table__).where(
                CatalogVersion.catalog_id == catalog_id, CatalogVersion.version == number
            )
        )
    ).first()
    if row is None:
        raise NotFound(
            f"catalog version '{number}' not found",
            reason=ErrorReason.CATALOG_VERSION_NOT_FOUND,
            metadata={"version": str(number)},
        )
    return CatalogVersion(
        id=row.id,
        catalog_id=row.catalog_id,
        version=row.version,
        created_at=row.created_at,
        activated_at=row.activated_at,
    )


async def record_count(conn: Conn, version_id: int) -> int:
    return (
        await conn.execute(select(func.count()).select_from(Record).where(Record.version_id == version_id))
    ).scalar_one()


async def list_versions(conn: Conn, catalog: Catalog) -> list[VersionInfo]:
    counts = (
        select(Record.version_id, func.count().label("n"))
        .join(CatalogVersion, CatalogVersion.id == Record.version_id)
        .where(CatalogVersion.catalog_id == catalog.id)
        .group_by(Record.version_id)
        .subquery()
    )
    rows = (
        await conn.execute(
            select(CatalogVersion.__table__, func.coalesce(counts.c.n, 0).label("n"))
            .outerjoin(counts, counts.c.version_id == CatalogVersion.id)
            .where(CatalogVersion.catalog_id == catalog.id)
            .order_by(CatalogVersion.version)
        )
    ).all()
    return [
        VersionInfo(
            id=row.id,
            version=row.version,
            active=row.id == catalog.active_version_id,
            created_at=as_utc(row.created_at),
            activated_at=as_utc(row.activated_at),
            item_count=row.n,
        )
        for row in rows
    ]


async def version_info(conn: Conn, version: CatalogVersion, active_version_id: int | None) -> VersionInfo:
    return VersionInfo(
        id=version.id,
        version=version.version,
        active=version.id == active_version_id,
        created_at=as_utc(version.created_at),
        activated_at=as_utc(version.activated_at),
        item_count=await record_count(conn, version.id),
    )


async def activate(conn: Conn, catalog_id: int, number: int, *, min_item_count: int, versions_kept: int) -> VersionInfo:
    """Make the version active in the caller's transaction; prune previously active versions beyond
    `versions_kept` (never versions that were never active: they may be loading)."""
    previous = await lock_catalog(conn, catalog_id)
    version = await get_version(conn, catalog_id, number)
    count = await record_count(conn, version.id)
    if count < min_item_count:
        raise FailedPrecondition(
            f"catalog version '{number}' holds {count} items, fewer than minItemCount {min_item_count}",
            reason=ErrorReason.TOO_FEW_ITEMS,
            metadata={"version": str(number), "item_count": str(count), "min_item_count": str(min_item_count)},
        )
    if previous != version.id:
        now = utcnow()
        await conn.execute(update(CatalogVersion).where(CatalogVersion.id == version.id).values(activated_at=now))
        await conn.execute(update(Catalog).where(Catalog.id == catalog_id).values(active_version_id=version.id))
        version.activated_at = now
        kept = (
            select(CatalogVersion.id)
            .where(
                CatalogVersion.catalog_id == catalog_id,
                CatalogVersion.activated_at.is_not(None),
                CatalogVersion.id != version.id,
            )
            .order_by(CatalogVersion.activated_at.desc(), CatalogVersion.id.desc())
            .limit(max(versions_kept, 0))
        )
        kept_ids = list((await conn.execute(kept)).scalars())
        await conn.execute(
            delete(CatalogVersion).where(
                CatalogVersion.catalog_id == catalog_id,
                CatalogVersion.activated_at.is_not(None),
                CatalogVersion.id != version.id,
                CatalogVersion.id.not_in(kept_ids),
            )
        )
    return VersionInfo(
        id=version.id,
        version=version.version,
        active=True,
        created_at=as_utc(version.created_at),
        activated_at=as_utc(version.activated_at),
        item_count=count,
    )


async def delete_version(conn: Conn, catalog_id: int, number: int) -> None:
    active = await lock_catalog(conn, catalog_id)
    version = await get_version(conn, catalog_id, number)
    if version.id == active:
        raise FailedPrecondition(
            f"catalog version '{number}' is the active version and cannot be deleted; activate another version first",
            reason=ErrorReason.VERSION_ACTIVE,
            metadata={"version": str(number)},
        )
    await conn.execute(delete(CatalogVersion).where(CatalogVersion.id == version.id))
