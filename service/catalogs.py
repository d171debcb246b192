"""Resolving the documents' names for a catalog (section, catalog_id, environment) to one catalog."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import Catalog, CatalogVersion
from service.db.upsert import insert_ignore
from service.errors import InvalidArgument, NotFound
from service.timeutil import utcnow

MAX_NAME = 200


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
    return (
        await session.execute(select(Catalog).where(Catalog.tenant_id == tenant_id, Catalog.name == name))
    ).scalar_one_or_none()


async def get_catalog(session: AsyncSession, tenant_id: int, name: str, parameter: str = "section") -> Catalog:
    catalog = await find_catalog(session, tenant_id, check_name(name, parameter))
    if catalog is None:
        raise NotFound(f"{parameter} '{name}' not found", reason="CATALOG_NOT_FOUND")
    return catalog


async def ensure_catalog(session: AsyncSession, tenant_id: int, name: str, parameter: str = "section") -> Catalog:
    """The catalog, created with an active first version on first use (safe under concurrent callers)."""
    check_name(name, parameter)
    catalog = await find_catalog(session, tenant_id, name)
    if catalog is not None and catalog.active_version_id is not None:
        return catalog
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
    await session.commit()
    return catalog
