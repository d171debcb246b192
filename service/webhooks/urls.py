"""What a webhook URL may be: absolute http(s) with a host, at most 2,048 characters."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from service.errors import invalid_field

MAX_URL = 2048
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def url_problem(url: str) -> str | None:
    """Why `url` cannot receive webhooks, or None."""
    if len(url) > MAX_URL:
        return f"at most {MAX_URL} characters (got {len(url)})"
    if _CONTROL.search(url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute http:// or https:// URL"
    return None


def check_url(url: str, field: str = "notification_url") -> None:
    """INVALID_ARGUMENT naming `field` when `url` cannot receive webhooks."""
    if (problem := url_problem(url)) is not None:
        raise invalid_field(field, problem)
