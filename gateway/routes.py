"""Starlette routes for the bindings: one route per path template, dispatching on the HTTP method."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from gateway.errors import GatewayError
from gateway.handler import Endpoint, handle
from gateway.http_rules import HttpBinding, PathTemplate
from gateway.responses import error_response


class TemplateRoute(BaseRoute):
    """Matches a compiled template; a known path with an unbound method is a 405 listing the allowed ones."""

    def __init__(self, template: PathTemplate, endpoints: dict[str, Endpoint]) -> None:
        self.template = template
        self.endpoints = endpoints

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
            allowed = ", ".join(sorted(self.endpoints))
            error = GatewayError(405, "UNIMPLEMENTED", "Method Not Allowed", headers={"Allow": allowed})
            response = error_response(error)
        else:
            response = await handle(Request(scope, receive), endpoint, dict(scope["path_params"]))
        await response(scope, receive, send)

    def __repr__(self) -> str:
        return f"TemplateRoute({self.template.source!r}, {sorted(self.endpoints)})"


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
