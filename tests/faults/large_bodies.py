"""Maximum-size request bodies of each kind, generated to a target size (the fault suite's memory load).

Each body is JSON (or CSV) made of string attributes, the shape the documented examples show; `size` is the
body's length in bytes, give or take one record. Ids carry a prefix so that every request writes its own
records and what was acknowledged can be read back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

_WORDS = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor".split()


def _attributes(n: int, size: int) -> dict[str, str]:
    """About `size` bytes of JSON: a description and string attributes of ~40 characters."""
    out: dict[str, str] = {"description": " ".join(_WORDS[(n + i) % len(_WORDS)] for i in range(size // 24))}
    for i in range(size // 120):
        out[f"attr_{i}"] = f"{_WORDS[(n + i) % len(_WORDS)]}-{n}-{i}-" + "x" * 24
    return out


def _per_record(size: int, count: int) -> int:
    """The `size` argument of _attributes that makes `count` records about `size` bytes in all."""
    target = max(64, size // count - 64)
    return max(64, target * target // len(orjson.dumps(_attributes(0, target))))


def records_body(prefix: str, size: int, count: int = 1000) -> bytes:
    """`PUT /v2/items`: `{"items": [...]}` of `count` records."""
    each = _per_record(size, count)
    return orjson.dumps(
        {"items": [{"id": f"{prefix}-{n}", "name": f"Item {n}", "data": _attributes(n, each)} for n in range(count)]}
    )


def bulk_body(prefix: str, size: int, count: int = 5000) -> bytes:
    """`PUT /data/v2/projects/{project}/catalogs/{catalog}/items`: a JSON array of `count` items."""
    each = _per_record(size, count)
    return orjson.dumps([{"item_id": f"{prefix}-{n}", "properties": _attributes(n, each)} for n in range(count)])


def batch_items_body(prefix: str, size: int, count: int = 2000) -> bytes:
    """`POST /batch-imports/items`: a JSON array of `count` items."""
    each = _per_record(size, count)
    return orjson.dumps(
        [{"id": f"{prefix}-{n}", "type": "product", "attributes": _attributes(n, each)} for n in range(count)]
    )


def csv_rows(size: int, rows: int) -> int:
    """How many bytes of description a row needs for an items file of about `size` bytes."""
    return max(16, size // rows - 40)


async def multipart_csv(boundary: str, prefix: str, size: int, rows: int = 2000) -> AsyncIterator[bytes]:
    """A multipart body with one items CSV file of about `size` bytes, generated as it is sent."""
    description = "x" * csv_rows(size, rows)
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="items"; filename="items.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nid,item_name,description\n"
    ).encode()
    lines: list[str] = []
    for n in range(rows):
        lines.append(f"{prefix}-{n},Item {n},{description}\n")
        if len(lines) == 64:
            yield "".join(lines).encode()
            lines.clear()
    if lines:
        yield "".join(lines).encode()
    yield f"\r\n--{boundary}--\r\n".encode()
