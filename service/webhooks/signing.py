"""The signature of a delivery, Stripe-style: `Catalog-Ingest-Signature: t=<unix seconds>,v1=<hex>`.

`v1` is HMAC-SHA256, keyed with the tenant's webhook secret, over `<t>.` followed by the raw body bytes.
A receiver recomputes it over the body exactly as received (before parsing the JSON), compares in constant
time, and refuses a timestamp far from its own clock (a replayed request); `verify` below does all three,
and the README shows the same in a few lines for receivers that do not import this package.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Catalog-Ingest-Signature"
# The delivery's id: the same on every attempt of one delivery; a receiver that saw it already can skip it.
DELIVERY_HEADER = "Catalog-Ingest-Delivery-Id"
# How far a signature's timestamp may be from the receiver's clock, by default.
TOLERANCE_SECONDS = 300


def signature(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for `body`, signed now (or at `timestamp`)."""
    at = int(time.time()) if timestamp is None else timestamp
    return f"t={at},v1={signature(secret, body, at)}"


def verify(
    secret: str, header: str, body: bytes, *, tolerance: float = TOLERANCE_SECONDS, now: float | None = None
) -> bool:
    """Whether `header` signs `body` with `secret`, within `tolerance` seconds of `now`."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, body, timestamp)
    # Several v1 values may come while a secret is being rotated; any match will do.
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", ()))
