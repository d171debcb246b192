"""The documented JSON shapes that are not proto JSON: per-RPC adapters, keyed by gRPC method path.

Every RPC without an entry here is bound and rendered generically (binding.py, responses.py). One module a
documented API: records.py (/v2), bulk_items.py (/data/v2/.../items), batch.py (/batch-imports, /catalogs).
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from gateway.shapes.batch import BATCH_SHAPES
from gateway.shapes.bulk_items import BULK_ITEM_SHAPES
from gateway.shapes.record_history import RECORD_HISTORY_SHAPES
from gateway.shapes.record_versions import RECORD_VERSION_SHAPES
from gateway.shapes.records import RECORD_SHAPES
from gateway.shapes.shape import Shape

# The batch-imports document writes `createdAt`; the others write proto field names.
CAMEL_CASE_SERVICES = frozenset({"catalogingest.v1.BatchService"})


def uses_camel_case(service_full_name: str) -> bool:
    return service_full_name in CAMEL_CASE_SERVICES


def message_only_error(request: Message, body: dict[str, Any]) -> dict[str, Any]:
    """The ingestion status document answers errors with just `{"message": ...}`."""
    return {"message": body.get("message", "")}


SHAPES: dict[str, Shape] = {
    **RECORD_SHAPES,
    **RECORD_HISTORY_SHAPES,
    **RECORD_VERSION_SHAPES,
    "/catalogingest.v1.TaskService/GetIngestionStatus": Shape(error=message_only_error),
    **BULK_ITEM_SHAPES,
    **BATCH_SHAPES,
}


def shape_for(full_method: str) -> Shape:
    """The adapters of an RPC; an empty Shape means fully generic."""
    return SHAPES.get(full_method, Shape())
