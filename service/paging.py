"""Opaque page tokens, and the page-number alternative the documented paths use."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from service.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument(
            "num_results_per_page must not be negative",
            field_violations=[("num_results_per_page", "must not be negative")],
        )
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def offset_for_page(page: int, size: int) -> int:
    if page < 0:
        raise InvalidArgument("page must be 1 or more", field_violations=[("page", "must be 1 or more")])
    return (max(page, 1) - 1) * size


def encode_token(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    try:
        value = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        value = None
    if not isinstance(value, dict):
        raise InvalidArgument("page_token is not one this service issued", field_violations=[("page_token", "invalid")])
    return value
