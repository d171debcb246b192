"""Reading back what an accepted request wrote, and comparing it with what was sent.

Numbers compare by value (JSON does not distinguish 1 from 1.0), booleans and everything else strictly.
"""

from __future__ import annotations

import json
import math
from typing import Any

from tests.fuzz.snapshot import rows_of


def same(sent: Any, stored: Any) -> bool:
    if isinstance(sent, bool) or isinstance(stored, bool):
        return type(sent) is type(stored) and sent == stored
    if isinstance(sent, int | float) and isinstance(stored, int | float):
        if isinstance(sent, float) and math.isnan(sent):
            return isinstance(stored, float) and math.isnan(stored)
        return sent == stored
    if isinstance(sent, dict) and isinstance(stored, dict):
        return sent.keys() == stored.keys() and all(same(sent[k], stored[k]) for k in sent)
    if isinstance(sent, list) and isinstance(stored, list):
        return len(sent) == len(stored) and all(same(a, b) for a, b in zip(sent, stored, strict=True))
    return type(sent) is type(stored) and sent == stored


def parse_sent(body: bytes) -> Any:
    """The body as a lenient JSON reader sees it (Python's: big integers exact, 1e400 infinite)."""
    return json.loads(body)


def show(value: Any) -> str:
    return json.dumps(value, default=str)[:150]


async def read_records(stack: Any, section: str, collection: str, ids: list[str]) -> tuple[int, dict[Any, Any], str]:
    """GET /v2/{collection}?id=...: status, {(id, context): record}, and the answer's text when not 200."""
    params = [("key", "acme"), ("section", section), ("num_results_per_page", "1000")]
    params += [("id", i) for i in dict.fromkeys(ids)]
    try:
        response = await stack.http.get(f"/v2/{collection}", params=params, headers=stack.auth())
    except UnicodeEncodeError:
        return 0, {}, "ids that cannot be sent in a URL"
    if response.status_code != 200:
        return response.status_code, {}, response.text[:200]
    return 200, {(r["id"], r.get("context", "")): r for r in response.json()[collection]}, ""


async def batch_rows(stack: Any, environment: str, batch_name: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    rows = await rows_of(
        stack,
        "batch_items",
        "WHERE batch_id IN (SELECT b.id FROM batches b JOIN catalogs c ON c.id = b.catalog_id"
        " WHERE b.name = :name AND c.name = :environment)",
        name=batch_name,
        environment=environment,
    )
    out = {}
    for row in rows:
        attributes = row["attributes"]
        if isinstance(attributes, str):
            attributes = json.loads(attributes)
        out[(row["item_type"], row["item_id"], row["context"])] = {**row, "attributes": attributes}
    return out
