"""CatalogService: bulk per-item writes with one result per item, the valid items stored as one task."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import grpc
import orjson

from catalogingest.v1 import catalog_pb2, record_pb2
from service.db.engine import Session, Sessions
from service.domain import idempotency
from service.domain.bulk_items import ITEM, ItemCheck, check_item, check_request
from service.domain.catalog_schemas import check_project, get_project_catalog
from service.domain.field_types import FieldDef, stored_fields
from service.domain.item_existence import creation_problems, existence_at_submission
from service.domain.rate_limit import take_slot
from service.interceptors import current_principal
from service.settings import Settings
from service.tasks import queue
from service.tasks.bulk_items import BULK_REPLACE, BULK_UPDATE
from service.tasks.record_writes import RECORDS_PART, encode_chunk

_SERVICE = catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"]
# Items per stored payload part: the worker reads a few parts at a time.
PART_ITEMS = 1000

BulkRequest = catalog_pb2.BulkReplaceCatalogItemsRequest | catalog_pb2.BulkUpdateCatalogItemsRequest


class BulkItemRpcs:
    """Mixed into CatalogServicer, which provides the session factory and the settings."""

    sessions: Sessions
    settings: Settings

    async def BulkReplaceCatalogItems(
        self, request: catalog_pb2.BulkReplaceCatalogItemsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.BulkReplaceCatalogItemsResponse:
        results, task_id = await self._bulk_write(request, context, partial=False, upsert=False)
        return catalog_pb2.BulkReplaceCatalogItemsResponse(
            results=results, task_id=task_id, task_status_path=queue.status_path(task_id) if task_id else ""
        )

    async def BulkUpdateCatalogItems(
        self, request: catalog_pb2.BulkUpdateCatalogItemsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.BulkUpdateCatalogItemsResponse:
        results, task_id = await self._bulk_write(request, context, partial=True, upsert=request.upsert)
        return catalog_pb2.BulkUpdateCatalogItemsResponse(
            results=results, task_id=task_id, task_status_path=queue.status_path(task_id) if task_id else ""
        )

    async def _bulk_write(
        self, request: BulkRequest, context: grpc.aio.ServicerContext, *, partial: bool, upsert: bool
    ) -> tuple[list[catalog_pb2.CatalogItemResult], int]:
        """Refuse the whole request (INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED) or answer per item.

        Only requests that pass the whole-request checks count against the rate limit. A retry with the
        idempotency key of an earlier same request answers with its task (and takes no rate-limit slot).
        """
        principal = current_principal()
        check_project(principal, request.project_id)
        settings = self.settings
        check_request(request.items, max_items=settings.bulk_max_items, max_bytes=settings.bulk_max_body_bytes)
        once = idempotency.of_request(context, principal.tenant_id, settings.idempotency_window_seconds)
        method = "BulkUpdateCatalogItems" if partial else "BulkReplaceCatalogItems"
        digest = idempotency.request_hash(idempotency.method_name(_SERVICE, method), request) if once else ""
        async with self.sessions() as session:
            catalog = await get_project_catalog(session, principal.tenant_id, request.catalog_id)
            earlier = await once.earlier(session) if once else None
        if once is not None and earlier is not None:
            task_id = once.answer(earlier, digest)
            fields = stored_fields(catalog.field_schema)
            return [_result(check_item(item, fields, partial=partial)) for item in request.items], task_id
        await take_slot(
            self.sessions,
            catalog.id,
            catalog.name,
            settings.bulk_rate_limit_requests,
            settings.bulk_rate_limit_window_seconds,
        )
        fields = stored_fields(catalog.field_schema)
        checks = [check_item(item, fields, partial=partial) for item in request.items]
        task_id = 0
        async with self.sessions() as session:
            if partial:
                await _check_existence(session, catalog.id, catalog.name, fields, request.items, checks, upsert)
            valid = [
                (item.item_id, check.properties_json, _expected_version(item))
                for item, check in zip(request.items, checks, strict=True)
                if check.valid
            ]
            params: dict[str, object] = {"kind": ITEM, "upsert": upsert, "records_total": len(valid)}
            if request.validate_only:
                params["dry_run"] = True  # service.domain.previews
            if valid:

                async def create() -> int:
                    task = await queue.enqueue(
                        session,
                        tenant_id=principal.tenant_id,
                        catalog_id=catalog.id,
                        task_type=BULK_UPDATE if partial else BULK_REPLACE,
                        params=params,
                        payload=_payload(valid),
                        submitted_by=principal.token_id,
                        idempotency_key=once.key if once else None,
                        request_hash=digest or None,
                    )
                    return task.id

                task_id = await idempotency.submit_once(session, once, digest, create)
        return [_result(check) for check in checks], task_id


async def _check_existence(
    session: Session,
    catalog_id: int,
    catalog_name: str,
    fields: dict[str, FieldDef],
    items: Sequence[catalog_pb2.CatalogItem],
    checks: list[ItemCheck],
    upsert: bool,
) -> None:
    """A partial update of an item known to be missing fails: without upsert it does not exist, with upsert
    it is created and must then have the catalog's required fields. When an unfinished task of the catalog
    is ahead, existence is decided when the task is applied (service.domain.item_existence)."""
    ids = [item.item_id for item, check in zip(items, checks, strict=True) if check.valid]
    existence = await existence_at_submission(session, catalog_id, ids)
    for item, check in zip(items, checks, strict=True):
        if not check.valid or not existence.known_missing(item.item_id):
            continue
        if not upsert:
            check.violations.append(
                (
                    "item_id",
                    f"Item '{item.item_id}' does not exist in catalog '{catalog_name}'; send upsert=true to create it.",
                )
            )
        else:
            problems = creation_problems(fields, orjson.loads(check.properties_json))
            created = f"Item '{item.item_id}' does not exist and upsert creates it:"
            check.violations += [("properties", f"{created} {problem}") for problem in problems]


def _expected_version(item: catalog_pb2.CatalogItem) -> int | None:
    return item.expected_version if item.HasField("expected_version") else None


def _payload(valid: list[tuple[str, str, int | None]]) -> Iterator[tuple[str, bytes]]:
    for start in range(0, len(valid), PART_ITEMS):
        records = [
            record_pb2.Record(kind=ITEM, id=item_id, data_json=properties, expected_version=expected)
            for item_id, properties, expected in valid[start : start + PART_ITEMS]
        ]
        yield RECORDS_PART, encode_chunk(records)


def _result(check: ItemCheck) -> catalog_pb2.CatalogItemResult:
    return catalog_pb2.CatalogItemResult(
        success=check.valid,
        queued=check.valid,
        errors=[catalog_pb2.CatalogItemViolation(field=f, description=d) for f, d in check.violations],
    )
