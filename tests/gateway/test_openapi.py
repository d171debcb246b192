"""The OpenAPI document: valid 3.1, generated (the checked-in openapi.json is what the gateway serves), and
covering exactly the routes the gateway serves; the docs page works offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from openapi_spec_validator import validate
from starlette.routing import Route

from gateway import create_app
from gateway.openapi import build_openapi, openapi_path
from gateway.openapi_shapes import OVERRIDES
from gateway.routes import TemplateRoute
from gateway.shapes import SHAPES
from tests.gateway.fakes import GatewayTestSettings

ROOT = Path(__file__).resolve().parents[2]


def test_the_document_is_valid_openapi_3_1() -> None:
    document = build_openapi()
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_the_checked_in_document_is_the_generated_one() -> None:
    checked_in = json.loads((ROOT / "openapi.json").read_text())
    assert checked_in == build_openapi(), "openapi.json is stale: run python tools/generate_protos.py"


def test_the_document_covers_exactly_the_routes_the_gateway_serves() -> None:
    app = create_app(GatewayTestSettings("127.0.0.1:1"))
    served: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, TemplateRoute):
            served |= {(openapi_path(route.template.source), m) for m in route.endpoints}
        elif isinstance(route, Route):
            served |= {(route.path, m) for m in route.methods or () if m != "HEAD"}
    documented = {(path, m.upper()) for path, item in build_openapi()["paths"].items() for m in item}
    assert documented == served


def test_every_documented_shape_has_its_schema() -> None:
    """An RPC whose JSON the gateway adapts (request or response) must say so in the document."""
    adapted = {method for method, shape in SHAPES.items() if shape.request or shape.response}
    assert adapted <= set(OVERRIDES)


def test_error_responses_name_the_standard_statuses() -> None:
    paths = build_openapi()["paths"]
    write = paths["/v2/{collection}"]["put"]["responses"]
    assert {"200", "400", "401", "403", "404", "409", "413", "429", "503", "504", "default"} <= set(write)
    assert write["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    bulk = paths["/data/v2/projects/{project_id}/catalogs/{catalog_id}/items"]["put"]["responses"]
    assert bulk["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/MessageError"}
    assert "X-Task-Id" in bulk["200"]["headers"]
    assert paths["/status/ingestion"]["get"]["security"] == []


async def test_served_document_and_offline_docs(client: httpx.AsyncClient) -> None:
    served = await client.get("/openapi.json")
    assert served.status_code == 200 and served.json() == build_openapi()
    page = await client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text), "the docs page loads nothing from another host"
    script = await client.get("/docs/redoc.standalone.js")
    assert script.status_code == 200 and len(script.content) > 100_000
