"""The ASGI app: custom routes first, then one route per google.api.http binding; one gRPC channel."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from gateway.cors import cors_middleware
from gateway.docs import ROUTES as DOCS_ROUTES
from gateway.errors import GatewayError, from_http_status
from gateway.http_rules import discover_services, load_bindings
from gateway.limits import BodyLimitsMiddleware
from gateway.observe import ROUTES as METRICS_ROUTES
from gateway.observe import HttpObserver
from gateway.request_id import RequestIdMiddleware, request_id
from gateway.responses import error_response
from gateway.routes import RouteTable, build_routes
from gateway.runtime import GatewayRuntime, GatewaySettings
from gateway.task_errors import ROUTES as ERROR_DOWNLOAD_ROUTES
from gateway.uploads import ROUTES as UPLOAD_ROUTES
from gateway.watch import ROUTES as WATCH_ROUTES
from service.inflight import InflightBytes

log = logging.getLogger(__name__)


def create_app(
    settings: GatewaySettings, *, extra_routes: Sequence[BaseRoute] = (), inflight: InflightBytes | None = None
) -> Starlette:
    """The gateway for `settings.grpc_target`.

    `extra_routes`, then the streaming CSV upload on /v1/catalog (the one route no annotation describes),
    are tried before the generated routes;
    they reach the server through `gateway.runtime.runtime_of(request).channel`, forward headers with
    `gateway.metadata.grpc_metadata(request)` and answer errors with `gateway.errors.from_rpc_error` and
    `gateway.responses.error_response`.
    `inflight` is the process's memory budget when a gRPC server in this process shares it.
    """
    inflight = inflight or InflightBytes.of(settings)
    generated = build_routes(load_bindings(discover_services()))
    routes = [
        *extra_routes,
        *UPLOAD_ROUTES,
        *WATCH_ROUTES,
        *ERROR_DOWNLOAD_ROUTES,
        *DOCS_ROUTES,
        *METRICS_ROUTES,
        *generated,
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = GatewayRuntime.open(settings)
        app.state.gateway = runtime
        try:
            yield
        finally:
            app.state.gateway = None
            await runtime.close()

    limits = Middleware(
        BodyLimitsMiddleware,
        budget=inflight,
        max_body_bytes=max(settings.max_body_bytes, settings.bulk_max_body_bytes),
        idle_timeout=settings.body_idle_timeout_seconds,
        min_rate=settings.body_min_bytes_per_second,
    )
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[*cors_middleware(settings), Middleware(RequestIdMiddleware), Middleware(HttpObserver), limits],
        exception_handlers={
            HTTPException: _http_exception,
            GatewayError: _gateway_error,
            Exception: _internal,
        },
    )
    app.state.inflight = inflight
    # No redirects (an empty 307 for a trailing '/'): a path no route takes is answered by name.
    app.router.redirect_slashes = False
    app.router.default = RouteTable(generated).not_found
    return app


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error = from_http_status(exc.status_code, exc.detail)
    error.headers.update(exc.headers or {})
    return error_response(error)


async def _gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return error_response(exc)


async def _internal(request: Request, exc: Exception) -> Response:
    log.error("unhandled error (request %s)", request_id(request), exc_info=exc)
    return error_response(GatewayError(500, "INTERNAL", "internal error; see the gateway log"))
