"""GET /metrics on a port of its own, for a process that runs no gateway (a worker alone)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.metrics import CONTENT_TYPE, process_metrics
from service.settings import Settings

log = logging.getLogger(__name__)


async def _metrics(request: Request) -> Response:
    return Response(process_metrics().render(), media_type=CONTENT_TYPE)


def metrics_app() -> Starlette:
    return Starlette(routes=[Route("/metrics", _metrics, methods=["GET"])])


async def serve(settings: Settings, roles: Iterable[str], stop: asyncio.Event) -> None:
    """Until `stop`: serve this process's metrics on settings.metrics_port, unless the gateway serves them
    (or no port is set)."""
    if "gateway" in roles or not settings.metrics_port:
        return
    config = uvicorn.Config(
        metrics_app(),
        host=settings.http_host,
        port=settings.metrics_port,
        log_level="warning",
        lifespan="off",
        log_config=None,
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    serving = asyncio.create_task(server.serve())
    log.info("metrics on %s:%d/metrics", settings.http_host, settings.metrics_port)
    try:
        await asyncio.wait([serving, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, 5)
