"""Catalog definitions of the bulk per-item API: a project's catalogs and their field schemas.

A project is a tenant, named as the tenant is. A catalog's name is its id: the same catalog is the
`catalog_id` of these paths and the `section` of the other APIs (DESIGN.md: one catalog, three names).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Principal
from service.db.models import Catalog
from service.db.upsert import insert_ignore
from service.domain.catalogs import check_name, ensure_catalog, find_catalog
from service.domain.field_types import add_fields, parse_fields, schema_json, stored_fields
from service.error_reasons import ErrorReason
from service.errors import AlreadyExists, InvalidArgument, NotFound, invalid_field, quote

# A field definition as a caller sent it ({"name", "type", "searchable", "required"}), checked by parse_fields.
RawField = dict[str, Any]


def check_project(principal: Principal, project_id: str) -> None:
    """The caller's own project only. Another tenant's project is NOT_FOUND, so its existence is not revealed."""
    if not project_id:
        raise invalid_field("project_id", "required")
    if project_id != principal.tenant_name:
        raise NotFound(f"project '{quote(project_id)}' not found", reason=ErrorReason.PROJECT_NOT_FOUND)


def check_catalog_name(name: str, parameter: str) -> str:
    check_name(name, parameter)
    if "/" in name:
        raise invalid_field(parameter, "must not contain '/'")
    return name


async def get_project_catalog(session: AsyncSession, tenant_id: int, catalog_id: str) -> Catalog:
    """The catalog named `catalog_id`, or NOT_FOUND naming it."""
    catalog = await find_catalog(session, tenant_id, check_name(catalog_id, "catalog_id"))
    if catalog is None:
        raise NotFound(f"catalog '{catalog_id}' not found", reason=ErrorReason.CATALOG_NOT_FOUND)
    return catalog


async def create_catalog(session: AsyncSession, tenant_id: int, name: str, fields: Sequence[RawField]) -> Catalog:
    """A new catalog with its schema and an active first version; an existing name is ALREADY_EXISTS."""
    check_catalog_name(name, "catalog.name")
    schema = schema_json({f.name: f for f in parse_fields(list(fields), "catalog.fields")})
    inserted = await session.execute(
        insert_ignore(
            session, Catalog, [{"tenant_id": tenant_id, "name": name, "field_schema": schema}], ["tenant_id", "name"]
        )
    )
    if inserted.rowcount == 0:
        await session.rollback()
        raise AlreadyExists(
            f"catalog '{name}' already exists", reason=ErrorReason.CATALOG_EXISTS, metadata={"catalog": name}
        )
    # Same transaction: ensure_catalog adds the active first version and commits both.
    return await ensure_catalog(session, tenant_id, name, parameter="catalog.name")


async def list_catalogs(session: AsyncSession, tenant_id: int, after: str, limit: int) -> list[Catalog]:
    """Up to `limit` catalogs whose name sorts after `after`, by name."""
    query = select(Catalog).where(Catalog.tenant_id == tenant_id).order_by(Catalog.name).limit(limit)
    if after:
        query = query.where(Catalog.name > after)
    return list((await session.execute(query)).scalars())


async def add_catalog_fields(
    session: AsyncSession, tenant_id: int, catalog_id: str, fields: Sequence[RawField]
) -> Catalog:
    """The catalog with `fields` added; a field's type never changes (FAILED_PRECONDITION names it)."""
    added = parse_fields(list(fields), "fields")
    if not added:
        raise InvalidArgument("fields: at least one field is required", field_violations=[("fields", "required")])
    # FOR UPDATE: two callers adding fields at once both land (SQLite serializes writers anyway).
    catalog = (
        await session.execute(
            select(Catalog)
            .where(Catalog.tenant_id == tenant_id, Catalog.name == check_name(catalog_id, "catalog_id"))
            .with_for_update()
        )
    ).scalar_one_or_none()
    if catalog is None:
        raise NotFound(f"catalog '{catalog_id}' not found", reason=ErrorReason.CATALOG_NOT_FOUND)
    schema = schema_json(add_fields(stored_fields(catalog.field_schema), added))
    await session.execute(update(Catalog).where(Catalog.id == catalog.id).values(field_schema=schema))
    await session.commit()
    catalog.field_schema = schema
    return catalog
