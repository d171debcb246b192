"""Inputs the Schemathesis run (tests/test_openapi_fuzz.py) answered with a 5xx, pinned down."""

from __future__ import annotations

from tests.conftest import Stack


async def test_a_lookback_longer_than_the_calendar_lists_every_ingestion(http_stack: Stack) -> None:
    params = {"tenant": "acme", "lookback_duration": str(2**63 - 1)}
    response = await http_stack.http.get("/batch-imports/ingestions", params=params, headers=http_stack.auth())
    assert response.status_code == 200 and response.json() == []
