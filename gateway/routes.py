"""Starlette routes for the bindings: one route per path template, dispatching on the HTTP method."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from gateway.errors import GatewayError
from gateway.handler import Endpoint, handle
from gateway.http_rules import ENCODED_SLASH, HttpBinding, PathTemplate
from gateway.responses import error_response


class TemplateRoute(BaseRoute):
    """Matches a compiled template; a known path with an unbound method is a 405 listing the allowed ones."""

    def __init__(self, template: PathTemplate, endpoints: dict[str, Endpoint]) -> None:
        self.template = template
        self.endpoints = endpoints
        self.table: RouteTable | None = None

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        variables = self.template.match(_route_path(scope))
        if variables is None:
            return Match.NONE, {}
        match = Match.FULL if scope["method"] in self.endpoints else Match.PARTIAL
        return match, {"path_params": variables}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.endpoints.get(scope["method"])
        if endpoint is None:
            # A path that some route of this method takes but for a variable: that variable is the problem.
            problem = self.table.problem(scope) if self.table is not None else None
            allowed = ", ".join(sorted(self.endpoints))
            error = problem or GatewayError(
                405,
                "UNIMPLEMENTED",
                f"{scope['method']} is not allowed on {self.template.source} (allowed: {allowed})",
                headers={"Allow": allowed},
            )
            response = error_response(error)
        else:
            response = await handle(Request(scope, receive), endpoint, dict(scope["path_params"]))
        await response(scope, receive, send)

    def __repr__(self) -> str:
        return f"TemplateRoute({self.template.source!r}, {sorted(self.endpoints)})"


class RouteTable:
    """What no route matched is answered by name: a 400 naming the path variable that is empty or holds an
    encoded '/' when a route of the method matches but for it, else a 404 naming method and path."""

    def __init__(self, routes: list[TemplateRoute]) -> None:
        self.routes = routes
        for route in routes:
            route.table = self

    def problem(self, scope: Scope) -> GatewayError | None:
        method, path = scope["method"], _segments_path(scope)
        for route in self.routes:
            if method not in route.endpoints:
                continue
            found = route.template.variable_problem(path)
            if found is not None:
                variable, problem = found
                return GatewayError.invalid_argument(
                    variable, problem, message=f"{variable}: {problem} (in {method} {route.template.source})"
                )
        return None

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The router's default: instead of Starlette's bare 404 (and its redirects of a trailing '/')."""
        error = self.problem(scope) or GatewayError(
            404, "NOT_FOUND", f"no route for {scope['method']} {_route_path(scope)}; see the README for the paths"
        )
        await error_response(error)(scope, receive, send)


def build_routes(bindings: Iterable[HttpBinding]) -> list[TemplateRoute]:
    """One route per distinct template; templates with more literal segments (and verbs) are tried first."""
    grouped: dict[str, tuple[PathTemplate, dict[str, Endpoint]]] = {}
    for binding in bindings:
        _, endpoints = grouped.setdefault(binding.template.source, (binding.template, {}))
        endpoints[binding.http_method] = Endpoint.of(binding)
    routes = [TemplateRoute(template, endpoints) for template, endpoints in grouped.values()]
    return sorted(routes, key=lambda r: (-r.template.literal_count, not r.template.verb))


def _route_path(scope: Scope) -> str:
    """The decoded path without the root path the app may be served under."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) :].startswith("/"):
        return path[len(root) :]
    return path


def _segments_path(scope: Scope) -> str:
    """The route path decoded segment by segment, an encoded '/' in a segment kept as ENCODED_SLASH."""
    raw = scope.get("raw_path")
    if not raw:
        return _route_path(scope)
    text = raw.decode("latin-1").split("?", 1)[0]
    path = "/".join(unquote(segment).replace("/", ENCODED_SLASH) for segment in text.split("/"))
    root = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) :].startswith("/"):
        return path[len(root) :]
    return path
