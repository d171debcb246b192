"""The gRPC server: the three services, health checking and reflection."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalogingest.v1 import (
    auth_pb2,
    auth_pb2_grpc,
    batch_pb2,
    batch_pb2_grpc,
    catalog_pb2,
    catalog_pb2_grpc,
    task_pb2,
    task_pb2_grpc,
)
from service import health as ingestion_health
from service import tls
from service.auth import Authenticator
from service.grpc_observe import ObservingInterceptor
from service.inflight import InflightBytes
from service.inflight_interceptor import InflightInterceptor
from service.interceptors import ServiceInterceptor
from service.refused_streams import RefusedStreamDrain
from service.servicers.auth import AuthServicer
from service.servicers.batch import BatchServicer
from service.servicers.catalog import CatalogServicer
from service.servicers.streaming import UploadSlots
from service.servicers.tasks import TaskServicer
from service.settings import Settings

SERVICE_NAMES = (
    catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"].full_name,
    batch_pb2.DESCRIPTOR.services_by_name["BatchService"].full_name,
    task_pb2.DESCRIPTOR.services_by_name["TaskService"].full_name,
    auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name,
)
# Large enough for a 1,000-record call with long attributes; uploads stream in chunks anyway.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# Call metadata (the Authorization token above all). gRPC's default soft limit of 8 KiB answers
# RESOURCE_EXHAUSTED at random between the soft and hard limits; one limit, well above any header the
# gateway forwards (gateway.metadata.MAX_FORWARDED_HEADER_BYTES) and HTTP servers accept (16 KiB in uvicorn),
# so a valid token always passes and an invalid one is UNAUTHENTICATED.
MAX_METADATA_BYTES = 64 * 1024


@dataclass
class GrpcServer:
    server: grpc.aio.Server
    health: health.aio.HealthServicer
    port: int
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    _watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.server.start()
        for name in ("", *SERVICE_NAMES, ingestion_health.INGESTION):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self._watch = asyncio.create_task(
            ingestion_health.watch(
                self.health,
                ("", *SERVICE_NAMES),
                self.sessions,
                self.settings.worker_lease_timeout,
                self.settings.health_check_interval_seconds,
            )
        )

    async def stop(self, grace: float) -> None:
        """Stop taking calls and let in-flight calls finish within `grace` seconds."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)


def create_server(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    host: str | None = None,
    port: int | None = None,
    inflight: InflightBytes | None = None,
) -> GrpcServer:
    """`inflight`: the process's memory budget, when the gateway in this process shares it."""
    inflight = inflight or InflightBytes.of(settings)
    inflight.serves_grpc = True
    server = grpc.aio.server(
        # The memory bound runs inside: the caller is authenticated, and its refusal mapped, by the first.
        # Outermost, the access log and metrics: they see the status the inner layers settled on.
        interceptors=[
            ObservingInterceptor(),
            ServiceInterceptor(
                Authenticator(sessions, settings.auth_cache_seconds),
                RefusedStreamDrain(
                    settings.refused_stream_drain_bytes,
                    settings.refused_stream_drain_seconds,
                    settings.max_uploads,
                    inflight,
                ),
            ),
            InflightInterceptor(inflight),
        ],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_metadata_size", MAX_METADATA_BYTES),
            ("grpc.absolute_max_metadata_size", MAX_METADATA_BYTES),
            # No window growth by BDP probing: a stream waiting on the memory budget or the database buffers
            # one HTTP/2 window (64 KiB) of its client's data, not megabytes.
            ("grpc.http2.bdp_probe", 0),
        ],
    )
    # One count of concurrent client streams for the whole process.
    uploads = UploadSlots(settings.max_uploads_per_tenant, settings.max_uploads)
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(CatalogServicer(sessions, settings, uploads), server)
    batch_pb2_grpc.add_BatchServiceServicer_to_server(BatchServicer(sessions, settings, uploads), server)
    task_pb2_grpc.add_TaskServiceServicer_to_server(TaskServicer(sessions, settings), server)
    auth_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME), server
    )
    bound = tls.bind(server, f"{host or settings.grpc_host}:{settings.grpc_port if port is None else port}", settings)
    return GrpcServer(server=server, health=health_servicer, port=bound, sessions=sessions, settings=settings)
