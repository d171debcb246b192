"""What each client method sends: the RPC and its request, built once for the sync and async clients."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message

from catalog_ingest_client.messages import COLLECTION_KINDS, RecordLike, record
from catalogingest.v1 import batch_pb2, catalog_pb2, task_pb2

CATALOG = "catalogingest.v1.CatalogService"
TASKS = "catalogingest.v1.TaskService"
BATCHES = "catalogingest.v1.BatchService"
FINAL_STATUSES = frozenset({task_pb2.TASK_STATUS_DONE, task_pb2.TASK_STATUS_FAILED, task_pb2.TASK_STATUS_CANCELED})
IDEMPOTENCY_KEY = "idempotency-key"


class UploadMode(enum.IntEnum):
    SYNC = catalog_pb2.UPLOAD_MODE_SYNC
    DELTA = catalog_pb2.UPLOAD_MODE_DELTA


class WriteMode(enum.IntEnum):
    REPLACE = catalog_pb2.WRITE_MODE_REPLACE
    UPDATE = catalog_pb2.WRITE_MODE_UPDATE
    DELETE = catalog_pb2.WRITE_MODE_DELETE


class OnMissing(enum.IntEnum):
    FAIL = catalog_pb2.ON_MISSING_FAIL
    IGNORE = catalog_pb2.ON_MISSING_IGNORE
    CREATE = catalog_pb2.ON_MISSING_CREATE


class BatchOperation(enum.IntEnum):
    ADD = batch_pb2.BATCH_OPERATION_ADD
    MODIFY = batch_pb2.BATCH_OPERATION_MODIFY
    DELETE = batch_pb2.BATCH_OPERATION_DELETE


@dataclass(frozen=True)
class Call:
    """One RPC: `service` and `method` name it, `request` is the message (or None for a client stream)."""

    service: str
    method: str
    request: Message | None = None
    idempotency_key: str | None = None
    extra_metadata: tuple[tuple[str, str], ...] = field(default=())

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.method}"

    def metadata(self, auth: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        key = ((IDEMPOTENCY_KEY, self.idempotency_key),) if self.idempotency_key else ()
        return (*auth, *key, *self.extra_metadata)


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def auth_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),) if token else ()


def get_task(task_id: int) -> Call:
    return Call(TASKS, "GetTask", task_pb2.GetTaskRequest(id=task_id))


def cancel_task(task_id: int) -> Call:
    return Call(TASKS, "CancelTask", task_pb2.CancelTaskRequest(id=task_id))


def watch_task(task_id: int) -> Call:
    return Call(TASKS, "WatchTask", task_pb2.WatchTaskRequest(id=task_id))


def ingestion_status() -> Call:
    return Call(TASKS, "GetIngestionStatus", task_pb2.GetIngestionStatusRequest())


def list_tasks(
    *,
    section: str = "",
    status: str | int = 0,
    type: str = "",
    page_size: int = 0,
    page_token: str = "",
) -> Call:
    """`status` as the REST API writes it (DONE, FAILED, ...) or the enum value."""
    if isinstance(status, str) and status:
        status = task_pb2.TaskStatus.Value("TASK_STATUS_" + status.upper().removeprefix("TASK_STATUS_"))
    request = task_pb2.ListTasksRequest(
        section=section, status=int(status or 0), type=type, num_results_per_page=page_size, page_token=page_token
    )
    return Call(TASKS, "ListTasks", request)


def _collection(collection: str) -> str:
    if collection not in COLLECTION_KINDS:
        raise ValueError(f"collection must be one of {', '.join(COLLECTION_KINDS)} (got {collection!r})")
    return collection


def list_records(
    collection: str, *, section: str = "", ids: Iterable[str] = (), page_size: int = 0, page_token: str = ""
) -> Call:
    request = catalog_pb2.ListRecordsRequest(
        section=section,
        collection=_collection(collection),
        id=list(ids),
        num_results_per_page=page_size,
        page_token=page_token,
    )
    return Call(CATALOG, "ListRecords", request)


def get_records(collection: str, ids: Iterable[str], *, section: str = "", context: str = "") -> Call:
    request = catalog_pb2.BatchGetRecordsRequest(
        section=section, collection=_collection(collection), ids=list(ids), context=context
    )
    return Call(CATALOG, "BatchGetRecords", request)


def write_records(
    mode: WriteMode,
    collection: str,
    records: Iterable[RecordLike],
    *,
    section: str = "",
    force: bool = False,
    notification_email: str = "",
    on_missing: OnMissing | None = None,
    idempotency_key: str | None = None,
    notification_url: str = "",
) -> Call:
    """Replace, Update or DeleteRecords with a client-generated idempotency key (so a retry is safe)."""
    kind = COLLECTION_KINDS[_collection(collection)]
    common: dict[str, Any] = {
        "section": section,
        "collection": collection,
        "records": [record(r, kind) for r in records],
        "force": force,
        "notification_email": notification_email,
    }
    if notification_url:
        common["notification_url"] = notification_url
    key = idempotency_key or new_idempotency_key()
    if mode == WriteMode.REPLACE:
        return Call(CATALOG, "ReplaceRecords", catalog_pb2.ReplaceRecordsRequest(**common), key)
    if mode == WriteMode.UPDATE:
        request = catalog_pb2.UpdateRecordsRequest(**common, on_missing=int(on_missing or 0))
        return Call(CATALOG, "UpdateRecords", request, key)
    return Call(CATALOG, "DeleteRecords", catalog_pb2.DeleteRecordsRequest(**common), key)


def delete_ids(ids: Iterable[str]) -> list[Mapping[str, Any]]:
    return [{"id": i} for i in ids]


def upload_header(
    section: str,
    mode: UploadMode,
    *,
    patch_delta: bool = False,
    force: bool = False,
    notification_email: str = "",
    notification_url: str = "",
) -> catalog_pb2.UploadCatalogHeader:
    """`notification_url`: receives the finished task (webhooks); empty: the tenant's default, if any."""
    header = catalog_pb2.UploadCatalogHeader(
        section=section, mode=int(mode), patch_delta=patch_delta, force=force, notification_email=notification_email
    )
    if notification_url:
        header.notification_url = notification_url
    return header


def stream_records_header(
    collection: str,
    mode: WriteMode,
    *,
    section: str = "",
    force: bool = False,
    notification_email: str = "",
    notification_url: str = "",
    on_missing: OnMissing | None = None,
) -> catalog_pb2.StreamRecordsHeader:
    header = catalog_pb2.StreamRecordsHeader(
        section=section,
        collection=_collection(collection),
        mode=int(mode),
        on_missing=int(on_missing or 0),
        force=force,
        notification_email=notification_email,
    )
    if notification_url:
        header.notification_url = notification_url
    return header


def stream_batch_items_header(
    tenant: str, environment: str, batch_id: str, operation: BatchOperation
) -> batch_pb2.StreamBatchItemsHeader:
    return batch_pb2.StreamBatchItemsHeader(
        tenant=tenant, environment=environment, batch_id=batch_id, operation=int(operation)
    )
