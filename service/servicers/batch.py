"""BatchService: batches, their items, ingestions and catalog versions (one mixin each)."""

from __future__ import annotations

import grpc

from catalogingest.v1 import batch_pb2, batch_pb2_grpc
from service.domain.batches import live_batches, new_batch
from service.servicers.batch_items import BatchItemRpcs
from service.servicers.catalog_versions import CatalogVersionRpcs
from service.servicers.ingestions import IngestionRpcs
from service.servicers.task_errors import IngestionErrorRpcs
from service.timeutil import to_timestamp


class BatchServicer(
    BatchItemRpcs, IngestionRpcs, IngestionErrorRpcs, CatalogVersionRpcs, batch_pb2_grpc.BatchServiceServicer
):
    async def CreateBatch(
        self, request: batch_pb2.CreateBatchRequest, context: grpc.aio.ServicerContext
    ) -> batch_pb2.CreateBatchResponse:
        tenant_id = self._scope(request.tenant, request.environment)
        async with self.sessions() as session:
            catalog = await self._catalog(session, tenant_id, request.environment)
            batch = new_batch(catalog.id, self.settings.batch_expiry_seconds)
            session.add(batch)
            await session.commit()
        return batch_pb2.CreateBatchResponse(id=batch.name)

    async def ListBatches(
        self, request: batch_pb2.ListBatchesRequest, context: grpc.aio.ServicerContext
    ) -> batch_pb2.ListBatchesResponse:
        tenant_id = self._scope(request.tenant, request.environment)
        async with self.sessions() as session:
            catalog = await self._catalog(session, tenant_id, request.environment)
            rows = await live_batches(session, catalog.id)
            return batch_pb2.ListBatchesResponse(
                batches=[
                    batch_pb2.Batch(
                        id=b.name, created_at=to_timestamp(b.created_at), expires_at=to_timestamp(b.expires_at)
                    )
                    for b in rows
                ]
            )
