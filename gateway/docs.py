"""GET /openapi.json, and GET /docs: the document rendered by a vendored Redoc (no CDN: works air-gapped)."""

from __future__ import annotations

import functools
from pathlib import Path

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from gateway.openapi import TITLE, build_openapi

STATIC = Path(__file__).parent / "static"
REDOC = STATIC / "redoc.standalone.js"  # redoc 2.5.0 (MIT, see redoc.LICENSE), from the npm package's bundles/
_PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{TITLE}</title>
<style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
<redoc spec-url="./openapi.json"></redoc>
<script src="./docs/redoc.standalone.js"></script>
</body>
</html>
"""


@functools.cache
def openapi_bytes() -> bytes:
    return orjson.dumps(build_openapi())


async def openapi_json(request: Request) -> Response:
    return Response(openapi_bytes(), media_type="application/json")


async def docs(request: Request) -> Response:
    # Relative URLs: the page works when the gateway is served under a path prefix.
    return HTMLResponse(_PAGE)


async def redoc_script(request: Request) -> Response:
    return FileResponse(REDOC, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})


ROUTES = [
    Route("/openapi.json", openapi_json, methods=["GET"]),
    Route("/docs", docs, methods=["GET"]),
    Route("/docs/redoc.standalone.js", redoc_script, methods=["GET"]),
]
