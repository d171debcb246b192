"""BatchService: staging areas for batch imports."""

from __future__ import annotations

import datetime as dt
import uuid

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalogingest.v1 import batch_pb2, batch_pb2_grpc
from service.catalogs import ensure_catalog, find_catalog
from service.db.models import Batch
from service.errors import InvalidArgument
from service.interceptors import current_principal
from service.settings import Settings
from service.timeutil import as_utc, utcnow


def _ts(value: dt.datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(as_utc(value))
    return ts


class BatchServicer(batch_pb2_grpc.BatchServiceServicer):
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings

    @staticmethod
    def _scope(tenant: str, environment: str) -> None:
        current_principal().check_tenant(tenant, "tenant")
        violations = [
            (name, "required") for name, value in (("tenant", tenant), ("environment", environment)) if not value
        ]
        if violations:
            raise InvalidArgument(f"{violations[0][0]} is required", field_violations=violations)

    async def CreateBatch(
        self, request: batch_pb2.CreateBatchRequest, context: grpc.aio.ServicerContext
    ) -> batch_pb2.CreateBatchResponse:
        self._scope(request.tenant, request.environment)
        now = utcnow()
        async with self.sessions() as session:
            catalog = await ensure_catalog(session, current_principal().tenant_id, request.environment, "environment")
            batch = Batch(
                id=uuid.uuid4().hex,
                catalog_id=catalog.id,
                created_at=now,
                expires_at=now + dt.timedelta(seconds=self.settings.batch_expiry_seconds),
            )
            session.add(batch)
            await session.commit()
        return batch_pb2.CreateBatchResponse(id=batch.id)

    async def ListBatches(
        self, request: batch_pb2.ListBatchesRequest, context: grpc.aio.ServicerContext
    ) -> batch_pb2.ListBatchesResponse:
        self._scope(request.tenant, request.environment)
        async with self.sessions() as session:
            catalog = await find_catalog(session, current_principal().tenant_id, request.environment)
            if catalog is None:
                return batch_pb2.ListBatchesResponse()
            rows = (
                await session.execute(
                    select(Batch)
                    .where(Batch.catalog_id == catalog.id, Batch.expires_at > utcnow())
                    .order_by(Batch.created_at.desc(), Batch.id)
                )
            ).scalars()
            return batch_pb2.ListBatchesResponse(
                batches=[
                    batch_pb2.Batch(id=b.id, created_at=_ts(b.created_at), expires_at=_ts(b.expires_at)) for b in rows
                ]
            )
