"""CatalogService: catalog definitions (create, get, list, add fields) of the bulk per-item API."""

from __future__ import annotations

from collections.abc import Iterable

import grpc

from catalogingest.v1 import catalog_pb2
from service.db.engine import Sessions
from service.db.models import Catalog
from service.domain import paging
from service.domain.catalog_schemas import (
    RawField,
    add_catalog_fields,
    check_project,
    create_catalog,
    get_project_catalog,
    list_catalogs,
)
from service.domain.field_types import stored_fields
from service.errors import invalid_field
from service.interceptors import current_principal
from service.timeutil import to_timestamp


class CatalogSchemaRpcs:
    """Mixed into CatalogServicer, which provides the session factory."""

    sessions: Sessions

    async def CreateCatalogDefinition(
        self, request: catalog_pb2.CreateCatalogDefinitionRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.CreateCatalogDefinitionResponse:
        principal = current_principal()
        check_project(principal, request.project_id)
        async with self.sessions() as session:
            catalog = await create_catalog(
                session, principal.tenant_id, request.catalog.name, _field_inputs(request.catalog.fields)
            )
        return catalog_pb2.CreateCatalogDefinitionResponse(catalog=catalog_to_proto(catalog))

    async def GetCatalogDefinition(
        self, request: catalog_pb2.GetCatalogDefinitionRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.GetCatalogDefinitionResponse:
        principal = current_principal()
        check_project(principal, request.project_id)
        async with self.sessions() as session:
            catalog = await get_project_catalog(session, principal.tenant_id, request.catalog_id)
        return catalog_pb2.GetCatalogDefinitionResponse(catalog=catalog_to_proto(catalog))

    async def ListCatalogDefinitions(
        self, request: catalog_pb2.ListCatalogDefinitionsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ListCatalogDefinitionsResponse:
        principal = current_principal()
        check_project(principal, request.project_id)
        if request.page_size < 0:
            raise invalid_field("page_size", "must not be negative")
        size = min(request.page_size or paging.DEFAULT_PAGE_SIZE, paging.MAX_PAGE_SIZE)
        after = paging.decode_token(request.page_token, {"name": str})["name"] if request.page_token else ""
        async with self.sessions() as session:
            catalogs = await list_catalogs(session, principal.tenant_id, after, size + 1)
        response = catalog_pb2.ListCatalogDefinitionsResponse(catalogs=[catalog_to_proto(c) for c in catalogs[:size]])
        if len(catalogs) > size:
            response.next_page_token = paging.encode_token({"name": catalogs[size - 1].name})
        return response

    async def AddCatalogFields(
        self, request: catalog_pb2.AddCatalogFieldsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.AddCatalogFieldsResponse:
        principal = current_principal()
        check_project(principal, request.project_id)
        async with self.sessions() as session:
            catalog = await add_catalog_fields(
                session, principal.tenant_id, request.catalog_id, _field_inputs(request.fields)
            )
        return catalog_pb2.AddCatalogFieldsResponse(catalog=catalog_to_proto(catalog))


def _field_inputs(fields: Iterable[catalog_pb2.CatalogField]) -> list[RawField]:
    return [{"name": f.name, "type": f.type, "searchable": f.searchable, "required": f.required} for f in fields]


def catalog_to_proto(catalog: Catalog) -> catalog_pb2.CatalogDefinition:
    message = catalog_pb2.CatalogDefinition(
        id=catalog.name,
        name=catalog.name,
        fields=[
            catalog_pb2.CatalogField(name=f.name, type=f.type, searchable=f.searchable, required=f.required)
            for f in stored_fields(catalog.field_schema).values()
        ],
    )
    if catalog.created_at is not None:
        message.create_time.CopyFrom(to_timestamp(catalog.created_at))
    return message
