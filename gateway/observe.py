"""What each HTTP request leaves behind: one access log line, its metrics, its trace span; and `GET /metrics`.

Metrics are labelled with the route template that answered (`/v1/tasks/{id}`), never the raw path; a path
no route takes counts as `unmatched`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.request_id import request_id
from service import interceptors, log_context, tracing
from service.metrics import CONTENT_TYPE, process_metrics

access_log = logging.getLogger("catalog_ingest.access.http")
UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The template of the route that takes this request (also for a method it refuses), else UNMATCHED."""
    app = scope.get("app")
    routes: list[BaseRoute] = getattr(getattr(app, "router", None), "routes", [])
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.NONE:
            continue
        template = getattr(route, "template", None)
        if template is not None:
            return str(template.source)
        if isinstance(route, Route):
            return route.path
    return UNMATCHED


class HttpObserver:
    """Sits inside RequestIdMiddleware: the request id is known, and every answer (also the body limits'
    refusals) passes through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.metrics = process_metrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(Request(scope))
        interceptors.request_id.set(rid)
        log_context.reset()
        started = time.perf_counter()
        status = 500
        sizes = {"in": 0, "out": 0}

        async def counting_receive() -> Message:
            message = await receive()
            sizes["in"] += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sizes["out"] += len(message.get("body", b""))
            await send(message)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        with tracing.server_span(f"HTTP {scope['method']}", headers, kind="server") as span:
            try:
                await self.app(scope, counting_receive, counting_send)
            finally:
                route = route_template(scope)
                elapsed = time.perf_counter() - started
                tracing.annotate(span, {"http.route": route, "http.response.status_code": status})
                self._record(scope, route, status, elapsed, sizes)

    def _record(self, scope: Scope, route: str, status: int, elapsed: float, sizes: dict[str, int]) -> None:
        self.metrics.http_requests.labels(route, str(status)).inc()
        self.metrics.http_duration.labels(route).observe(elapsed)
        fields: dict[str, Any] = {
            "method": scope["method"],
            "route": route,
            "path": scope["path"],
            "status": status,
            "duration_ms": round(elapsed * 1000, 3),
            "bytes_in": sizes["in"],
            "bytes_out": sizes["out"],
        }
        access_log.info(
            "%s %s %d %.1fms", scope["method"], scope["path"], status, elapsed * 1000, extra={"fields": fields}
        )


async def metrics(request: Request) -> Response:
    """Prometheus text format: this process's metrics."""
    return Response(process_metrics().render(), media_type=CONTENT_TYPE)


ROUTES = [Route("/metrics", metrics, methods=["GET"])]
