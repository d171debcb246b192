"""Opaque page tokens, and the page-number alternative the documented paths use."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import orjson

from service.error_reasons import ErrorReason
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


_INT64 = (-(2**63), 2**63 - 1)


def decode_token(token: str, fields: Mapping[str, type]) -> dict[str, Any]:
    """The position a page token holds: each key of `fields` with a value of its type (`int` within the
    signed 64-bit range, or `str` without NUL). A token this service did not issue is INVALID_ARGUMENT."""
    try:
        value = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        value = None
    if (
        not isinstance(value, dict)
        or set(value) != set(fields)
        or not all(_fits(value[k], t) for k, t in fields.items())
    ):
        raise InvalidArgument(
            "page_token is not one this service issued: send the next_page_token of the previous page as it was",
            reason=ErrorReason.INVALID_PAGE_TOKEN,
            field_violations=[("page_token", "not a page token this service issued")],
        )
    return value


def _fits(value: Any, kind: type) -> bool:
    if kind is int:
        return type(value) is int and _INT64[0] <= value <= _INT64[1]
    return type(value) is kind and not (isinstance(value, str) and "\x00" in value)
