"""How deep JSON may nest: deeper values cannot be written back out (orjson stops at 255 levels, the
gateway's JSON at 64), so they are refused when written, never stored."""

from __future__ import annotations

from typing import Any

# The documented limit for a record's data, a bulk item's properties and a batch item's attributes.
MAX_JSON_DEPTH = 64
TOO_DEEP = f"nested deeper than {MAX_JSON_DEPTH} levels (the limit for JSON values)"


def too_deep(value: Any, text: str = "", limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `value` (parsed from `text`, when given) nests objects and arrays more than `limit` deep."""
    if text and text.count("[") + text.count("{") <= limit:
        return False  # too few brackets to nest that deep: no walk
    pending: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while pending:
        current, depth = pending.pop()
        if depth > limit:
            return True
        children = current.values() if isinstance(current, dict) else current
        pending += [(child, depth + 1) for child in children if isinstance(child, dict | list)]
    return False
