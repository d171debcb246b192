"""Catalog versions over BatchService: create (with a batch), list, active, activate, delete."""

from __future__ import annotations

import grpc

from catalogingest.v1 import batch_pb2
from service.domain import idempotency
from service.domain.batches import new_batch
from service.domain.catalog_versions import (
    VersionInfo,
    activate,
    create_version,
    delete_version,
    get_version,
    list_versions,
    parse_version,
    version_info,
)
from service.domain.catalogs import ensure_catalog
from service.servicers.batch_scope import BatchScope
from service.timeutil import to_timestamp

_ACTIVATE = idempotency.method_name(batch_pb2.DESCRIPTOR.services_by_name["BatchService"], "ActivateCatalogVersion")
_STATES = {True: batch_pb2.CATALOG_VERSION_STATE_ACTIVE, False: batch_pb2.CATALOG_VERSION_STATE_INACTIVE}


def version_proto(info: VersionInfo, batch_import_id: str | None = None) -> batch_pb2.CatalogVersion:
    out = batch_pb2.CatalogVersion(
        version=str(info.version),
        state=_STATES[info.active],
        created_at=to_timestamp(info.created_at),
        item_count=info.item_count,
    )
    if info.activated_at is not None:
        out.activated_at.CopyFrom(to_timestamp(info.activated_at))
    if batch_import_id is not None:
        out.batch_import_id = batch_import_id
    return out


class CatalogVersionRpcs(BatchScope):
    async def CreateCatalogVersion(
        self, request: batch_pb2.CreateCatalogVersionRequest, context: grpc.aio.ServicerContext
    ) -> batch_pb2.CreateCatalogVersionResponse:
        tenant_id = self._scope(request.tenant, request.environment)
        async with self.sessions() as session:
            catalog = await ensure_catalog(session, tenant_id, request.environment, "environment")
            version = await create_version(session, catalog.id)
            batch_name = None
            if request.create_batch_import:
                batch = new_batch(catalog.id, self.settings.batch_expiry_seconds, name=str(version.version))
                session.add(batch)
                batch_name = batch.name
            await session.commit()
            info = await version_info(session, version, catalog.active_version_id)
        return batch_pb2.CreateCatalogVersionResponse(version=version_proto(info, batch_name))

    async def ListCatalogVersions(
        self, request: batch_pb2.ListCatalogVersionsRequest, context: grpc.aio.ServicerContext
    ) -> batch_pb2.ListCatalogVersionsResponse:
        tenant_id = self._scope(request.tenant, request.environment)
        async with self.sessions() as session:
            catalog = await self._catalog(session, tenant_id, request.environment)
            infos = await list_versions(session, catalog)
        return batch_pb2.ListCatalogVersionsResponse(versions=[version_proto(i) for i in infos])

    async def GetActiveCatalogVersion(
        self, request: batch_pb2.GetActiveCatalogVersionRequest, context: grpc.aio.ServicerContext
    ) -> batch_pb2.GetActiveCatalogVersionResponse:
        tenant_id = self._scope(request.tenant, request.environment)
        async with self.sessions() as session:
            catalog = await self._catalog(session, tenant_id, request.environment)
            infos = [i for i in await list_versions(session, catalog) if i.active]
        if not infos:  # a catalog is created with its active version; this is only a safety net
            return batch_pb2.GetActiveCatalogVersionResponse()
        return batch_pb2.GetActiveCatalogVersionResponse(version=version_proto(infos[0]))

    async def ActivateCatalogVersion(
        self, request: batch_pb2.ActivateCatalogVersionRequest, context: grpc.aio.ServicerContext
    ) -> batch_pb2.ActivateCatalogVersionResponse:
        tenant_id = self._scope(request.tenant, request.environment)
        number = parse_version(request.version)
        once = idempotency.of_request(context, tenant_id, self.settings.idempotency_window_seconds)
        digest = idempotency.request_hash(_ACTIVATE, request) if once else ""

        async def write() -> batch_pb2.ActivateCatalogVersionResponse:
            async with self.sessions() as session:
                catalog = await self._catalog(session, tenant_id, request.environment)
                await session.commit()
                info = await activate(
                    session,
                    catalog.id,
                    number,
                    min_item_count=max(request.min_item_count, 0),
                    versions_kept=self.settings.versions_kept,
                )
                await session.commit()
            return batch_pb2.ActivateCatalogVersionResponse(version=version_proto(info))

        # A retry with the key gets the first answer, even after another version was activated since.
        return await idempotency.answer_once(
            self.sessions, once, digest, batch_pb2.ActivateCatalogVersionResponse, write
        )

    async def DeleteCatalogVersion(
        self, request: batch_pb2.DeleteCatalogVersionRequest, context: grpc.aio.ServicerContext
    ) -> batch_pb2.DeleteCatalogVersionResponse:
        tenant_id = self._scope(request.tenant, request.environment)
        number = parse_version(request.version)
        async with self.sessions() as session:
            catalog = await self._catalog(session, tenant_id, request.environment)
            await get_version(session, catalog.id, number)
            await session.commit()
            await delete_version(session, catalog.id, number)
            await session.commit()
        return batch_pb2.DeleteCatalogVersionResponse()
