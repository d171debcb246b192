"""CORS over real HTTP: with CATALOG_INGEST_CORS_ORIGINS a browser's preflight is answered (before any
credential check) and responses carry the CORS headers for an allowed origin; unset, no CORS header at all."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import Stack, start_stack

SHOP = "https://shop.example"


@pytest.fixture
async def cors_stack(database_url: str) -> AsyncIterator[Stack]:
    async with start_stack(database_url, cors_origins=f"{SHOP}, https://admin.example") as running:
        yield running


def preflight(origin: str, method: str = "PUT") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
    }


async def test_preflight_is_answered_for_an_allowed_origin(cors_stack: Stack) -> None:
    response = await cors_stack.http.options("/v2/items?key=acme", headers=preflight(SHOP))
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == SHOP
    assert "PUT" in response.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed


async def test_responses_carry_cors_headers_for_an_allowed_origin(cors_stack: Stack) -> None:
    response = await cors_stack.http.get(
        "/v1/tasks", params={"key": "acme"}, headers={"Origin": SHOP, **cors_stack.auth()}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SHOP
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()
    # An error answer too: the browser's script can read why it was refused.
    refused = await cors_stack.http.get("/v1/tasks", params={"key": "acme"}, headers={"Origin": SHOP})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == SHOP


async def test_other_origins_get_no_cors_headers(cors_stack: Stack) -> None:
    response = await cors_stack.http.options("/v2/items", headers=preflight("https://evil.example"))
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    plain = await cors_stack.http.get("/status/ingestion", headers={"Origin": "https://evil.example"})
    assert plain.status_code == 200
    assert "access-control-allow-origin" not in plain.headers


async def test_no_cors_headers_when_unset(http_stack: Stack) -> None:
    response = await http_stack.http.get("/status/ingestion", headers={"Origin": SHOP})
    assert response.status_code == 200
    assert not [h for h in response.headers if h.startswith("access-control-")]
    # No preflight answer either: OPTIONS is a method no route takes.
    preflighted = await http_stack.http.options("/v2/items", headers=preflight(SHOP))
    assert preflighted.status_code == 405
    assert not [h for h in preflighted.headers if h.startswith("access-control-")]
