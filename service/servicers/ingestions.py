"""Batch ingestions over BatchService: create, get, list, delete."""

from __future__ import annotations

import grpc

from catalogingest.v1 import batch_pb2
from service.db.models import Ingestion
from service.domain import idempotency
from service.domain.ingestions import (
    IngestionRequest,
    create_ingestion,
    delete_ingestion,
    get_ingestion,
    list_ingestions,
    summary_of,
)
from service.errors import invalid_field
from service.interceptors import current_principal
from service.servicers.batch_scope import BatchScope
from service.timeutil import to_timestamp

_CREATE = idempotency.method_name(batch_pb2.DESCRIPTOR.services_by_name["BatchService"], "CreateIngestion")
_STATUS_NAMES = {
    batch_pb2.INGESTION_STATUS_RUNNING: "RUNNING",
    batch_pb2.INGESTION_STATUS_SUCCESS: "SUCCESS",
    batch_pb2.INGESTION_STATUS_FAILURE: "FAILURE",
    batch_pb2.INGESTION_STATUS_ERROR: "ERROR",
}
_STATUSES = {name: number for number, name in _STATUS_NAMES.items()}


def ingestion_proto(ingestion: Ingestion, environment: str) -> batch_pb2.Ingestion:
    """The documented fields, each present when the document says it is (by status)."""
    status = ingestion.status
    summary = summary_of(ingestion)
    config = ingestion.configuration or {}
    out = batch_pb2.Ingestion(
        id=ingestion.id,
        status=_STATUSES.get(status, batch_pb2.INGESTION_STATUS_UNSPECIFIED),
        created_at=to_timestamp(ingestion.created_at),
        updated_at=to_timestamp(ingestion.updated_at),
        configuration=batch_pb2.IngestionConfiguration(**config),
        environment=environment,
    )
    if status in ("FAILURE", "ERROR"):
        out.status_reason = ingestion.status_reason or ""
    if status in ("SUCCESS", "FAILURE") and "item_error_count" in summary:
        out.item_error_count = summary["item_error_count"]
        for error_type, errors in summary.get("item_errors_summary", {}).items():
            out.item_errors_summary[error_type].CopyFrom(batch_pb2.ItemErrorSummary(**errors))
    if status == "SUCCESS":
        out.upserted_item_count = summary.get("upserted_item_count", 0)
        out.deleted_item_count = summary.get("deleted_item_count", 0)
    if status in ("SUCCESS", "FAILURE") and "duration" in summary:
        out.duration = summary["duration"]
    return out


class IngestionRpcs(BatchScope):
    async def CreateIngestion(
        self, request: batch_pb2.CreateIngestionRequest, context: grpc.aio.ServicerContext
    ) -> batch_pb2.CreateIngestionResponse:
        tenant_id = self._scope(request.tenant, request.environment)
        once = idempotency.of_request(context, tenant_id, self.settings.idempotency_window_seconds)
        digest = idempotency.request_hash(_CREATE, request) if once else ""
        async with self.sessions() as session:
            catalog = await self._catalog(session, tenant_id, request.environment)
            ingestion = await create_ingestion(
                session,
                tenant_id=tenant_id,
                catalog=catalog,
                request=IngestionRequest(
                    batch_import_id=request.batch_import_id,
                    catalog_version=request.catalog_version,
                    min_item_count=request.min_item_count,
                    min_success_rate_percent=request.min_success_rate_percent,
                    source=request.source,
                    delete_missing_items=request.delete_missing_items,
                    promote_catalog_on_completion=request.promote_catalog_on_completion,
                ),
                submitted_by=current_principal().token_id,
                dry_run=request.validate_only,
                once=once,
                digest=digest,
            )
        return batch_pb2.CreateIngestionResponse(id=ingestion.id)

    async def GetIngestion(
        self, request: batch_pb2.GetIngestionRequest, context: grpc.aio.ServicerContext
    ) -> batch_pb2.GetIngestionResponse:
        tenant_id = self._scope(request.tenant, request.environment)
        async with self.sessions() as session:
            catalog = await self._catalog(session, tenant_id, request.environment)
            ingestion = await get_ingestion(session, catalog.id, request.id)
        return batch_pb2.GetIngestionResponse(ingestion=ingestion_proto(ingestion, request.environment))

    async def ListIngestions(
        self, request: batch_pb2.ListIngestionsRequest, context: grpc.aio.ServicerContext
    ) -> batch_pb2.ListIngestionsResponse:
        tenant_id = self._scope(request.tenant, None)
        if request.lookback_duration < 0:
            raise invalid_field("lookback_duration", "must not be negative (milliseconds back from now)")
        status = _STATUS_NAMES.get(request.status) if request.status else None
        async with self.sessions() as session:
            for environment in request.environment:
                await self._catalog(session, tenant_id, environment)
            found = await list_ingestions(
                session, tenant_id, list(request.environment), request.lookback_duration, status
            )
        return batch_pb2.ListIngestionsResponse(ingestions=[ingestion_proto(i, env) for i, env in found])

    async def DeleteIngestion(
        self, request: batch_pb2.DeleteIngestionRequest, context: grpc.aio.ServicerContext
    ) -> batch_pb2.DeleteIngestionResponse:
        tenant_id = self._scope(request.tenant, request.environment)
        async with self.sessions() as session:
            catalog = await self._catalog(session, tenant_id, request.environment)
            await delete_ingestion(session, catalog.id, request.id)
        return batch_pb2.DeleteIngestionResponse()
