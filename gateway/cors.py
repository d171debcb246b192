"""CORS: browsers on the configured origins may call the REST gateway (CATALOG_INGEST_CORS_ORIGINS)."""

from __future__ import annotations

from typing import Any

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

# What a browser script may read from a response besides the CORS-safelisted headers.
EXPOSED_HEADERS = ("X-Request-Id", "Retry-After", "Location")


def origins(settings: Any) -> list[str]:
    """The comma-separated `cors_origins` as a list (blanks dropped); empty: CORS is off."""
    return [origin.strip() for origin in str(getattr(settings, "cors_origins", "") or "").split(",") if origin.strip()]


def cors_middleware(settings: Any) -> list[Middleware]:
    """The middleware to put first (outermost), so that a preflight is answered before any credential check;
    none when no origin is configured, so that responses carry no CORS header at all."""
    allowed = origins(settings)
    if not allowed:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=allowed,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            # Authorization (tokens), Content-Type (JSON bodies, uploads), Idempotency-Key, X-Request-Id.
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
            # Tokens travel in Authorization, not cookies: credentials mode stays off, so "*" stays valid.
            allow_credentials=False,
            expose_headers=list(EXPOSED_HEADERS),
            max_age=600,
        )
    ]
