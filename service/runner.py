"""Runs the roles of one process (gRPC server, REST gateway, worker) until SIGTERM or SIGINT.

Shutdown order: health NOT_SERVING and the gRPC server stops taking calls while in-flight calls
finish; the gateway stops; the worker finishes or rolls back its tasks and hands unfinished ones
back to the queue; the engine is disposed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterable

import uvicorn

from service import metrics_endpoint, tls, tracing
from service.db import schema_version
from service.db.backend import backend_of
from service.db.engine import create_engine, session_factory
from service.inflight import InflightBytes
from service.server import create_server
from service.settings import Settings
from service.tasks.worker import Worker

log = logging.getLogger(__name__)
ROLES = ("grpc", "gateway", "worker")


async def run(settings: Settings, roles: Iterable[str] = ROLES, stop: asyncio.Event | None = None) -> None:
    roles = tuple(roles)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    engine = create_engine(settings.effective_database_url, pooler=settings.database_pooler)
    if backend_of(engine).one_process and set(roles) != set(ROLES):
        log.warning("SQLite serves one process: run all roles together, or use PostgreSQL for separate roles")
    await schema_version.prepare(engine, settings)
    sessions = session_factory(engine)
    # One memory budget for the process, shared by its gRPC server and gateway.
    inflight = InflightBytes.of(settings)
    tracing.configure()
    metrics_task = asyncio.create_task(metrics_endpoint.serve(settings, roles, stop))

    grpc_server = None
    gateway: uvicorn.Server | None = None
    gateway_task: asyncio.Task[None] | None = None
    worker_task: asyncio.Task[None] | None = None
    worker_stop = asyncio.Event()
    try:
        if "grpc" in roles:
            grpc_server = create_server(settings, sessions, inflight=inflight)
            await grpc_server.start()
            log.info("gRPC listening on %s:%d", settings.grpc_host, grpc_server.port)
        if "worker" in roles:
            worker_task = asyncio.create_task(Worker(engine, settings).run(worker_stop))
        if "gateway" in roles:
            from gateway.app import create_app
            from gateway.slow_clients import http_protocol

            config = uvicorn.Config(
                create_app(settings, inflight=inflight),
                host=settings.http_host,
                port=settings.http_port,
                log_level="warning",
                # No logging config of its own: uvicorn's lines go through ours (JSON, with the request id).
                log_config=None,
                lifespan="on",
                http=http_protocol(settings.header_timeout_seconds),
                **tls.uvicorn_options(settings),
            )
            gateway = uvicorn.Server(config)
            # The runner owns the signals; uvicorn must not install its own.
            gateway.install_signal_handlers = lambda: None  # type: ignore[method-assign]
            gateway_task = asyncio.create_task(gateway.serve())
            log.info("gateway listening on %s:%d", settings.http_host, settings.http_port)
        watched = [t for t in (gateway_task, worker_task) if t is not None]
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopping, *watched], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        for task in done:
            if task is not stopping and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        log.info("shutting down")
        if grpc_server is not None:
            await grpc_server.stop(settings.shutdown_grace)
        if gateway is not None and gateway_task is not None:
            gateway.should_exit = True
            await asyncio.wait([gateway_task], timeout=settings.shutdown_grace + 1)
        if worker_task is not None:
            worker_stop.set()
            await asyncio.wait([worker_task], timeout=settings.shutdown_grace + 5)
        metrics_task.cancel()
        await engine.dispose()
        tracing.shutdown()
        log.info("stopped")
