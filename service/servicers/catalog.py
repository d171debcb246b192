"""CatalogService: record reads, and record writes that become tasks."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from catalogingest.v1 import catalog_pb2, catalog_pb2_grpc, record_pb2
from service.db.engine import Session, Sessions
from service.db.models import Task
from service.domain import idempotency, paging
from service.domain.catalogs import catalog_for_write, get_catalog
from service.domain.field_paths import FieldPath
from service.domain.ids import id_problem
from service.domain.records import (
    check_record_count,
    kind_for_collection,
    record_problems,
    rejected_record,
    row_to_proto,
    validate_records,
)
from service.domain.task_errors import REJECTED_PART, OnInvalid, encode_rejected
from service.error_reasons import ErrorReason
from service.errors import InvalidArgument, invalid_field
from service.interceptors import current_principal
from service.servicers.bulk_items import BulkItemRpcs
from service.servicers.catalog_schemas import CatalogSchemaRpcs
from service.servicers.record_history import RecordHistoryRpcs
from service.servicers.record_versions import RecordVersionRpcs
from service.servicers.streaming import UploadSlots, ensure_not_cancelled, idle_timeout, read_header, stream_body
from service.servicers.uploads import PART_BYTES, UploadRpcs
from service.settings import Settings
from service.store.record_reads import get_records, list_records
from service.tasks import queue
from service.tasks.pending import PendingUpload
from service.tasks.record_writes import RECORDS_PART, encode_chunk
from service.tasks.status import TaskType
from service.webhooks.urls import check_url

ON_MISSING = {0: "FAIL", 1: "FAIL", 2: "IGNORE", 3: "CREATE"}
ON_INVALID = {0: OnInvalid.FAIL, 1: OnInvalid.FAIL, 2: OnInvalid.SKIP}
WRITE_MODES = {
    catalog_pb2.WRITE_MODE_REPLACE: TaskType.RECORDS_REPLACE,
    catalog_pb2.WRITE_MODE_UPDATE: TaskType.RECORDS_UPDATE,
    catalog_pb2.WRITE_MODE_DELETE: TaskType.RECORDS_DELETE,
}


class CatalogServicer(
    RecordHistoryRpcs,
    UploadRpcs,
    CatalogSchemaRpcs,
    BulkItemRpcs,
    RecordVersionRpcs,
    catalog_pb2_grpc.CatalogServiceServicer,
):
    def __init__(self, sessions: Sessions, settings: Settings, uploads: UploadSlots | None = None) -> None:
        self.sessions = sessions
        self.settings = settings
        self.uploads = uploads or UploadSlots(settings.max_uploads_per_tenant, settings.max_uploads)

    async def BatchGetRecords(
        self, request: catalog_pb2.BatchGetRecordsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.BatchGetRecordsResponse:
        principal = current_principal()
        principal.check_tenant(request.key, "key")
        kind = kind_for_collection(request.collection)
        if len(request.ids) > paging.MAX_PAGE_SIZE:
            raise InvalidArgument(f"at most {paging.MAX_PAGE_SIZE} ids", field_violations=[("ids", "too many")])
        _check_lookup_ids("ids", request.ids, request.context)
        async with self.sessions() as session:
            catalog = await get_catalog(session, principal.tenant_id, self.settings.section(request.section))
            rows = await get_records(session, catalog.active_version_id, kind, request.context, request.ids)
        by_id = {row.record_id: row for row in rows}
        return catalog_pb2.BatchGetRecordsResponse(
            records=[row_to_proto(by_id[i]) for i in dict.fromkeys(request.ids) if i in by_id]
        )

    async def ListRecords(
        self, request: catalog_pb2.ListRecordsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ListRecordsResponse:
        principal = current_principal()
        principal.check_tenant(request.key, "key")
        kind = kind_for_collection(request.collection)
        size = paging.page_size(request.num_results_per_page)
        _check_lookup_ids("id", request.id)
        async with self.sessions() as session:
            catalog = await get_catalog(session, principal.tenant_id, self.settings.section(request.section))
            after = None
            if request.page_token:
                position = paging.decode_token(request.page_token, {"id": str, "context": str})
                after = (position["id"], position["context"])
            total, rows = await list_records(
                session,
                catalog.active_version_id,
                kind,
                request.id,
                size + 1,
                after=after,
                offset=0 if after else paging.offset_for_page(request.page, size),
            )
        response = catalog_pb2.ListRecordsResponse(records=[row_to_proto(r) for r in rows[:size]], total_count=total)
        if len(rows) > size:
            last = rows[size - 1]
            response.next_page_token = paging.encode_token({"id": last.record_id, "context": last.context})
        return response

    def _target(
        self,
        *,
        key: str,
        section: str,
        collection: str,
        task_type: str,
        force: bool,
        notification_email: str,
        notification_url: str = "",
        on_missing: int = 0,
        on_invalid: int = 0,
        prefix: str = "",
        dry_run: bool = False,
    ) -> WriteTarget:
        """What a write asks for, checked before anything is read or stored."""
        principal = current_principal()
        principal.check_tenant(key, f"{prefix}key")
        if notification_url:
            check_url(notification_url, f"{prefix}notification_url")
        with _fields_under(prefix):
            kind = kind_for_collection(collection)
        if on_invalid not in ON_INVALID:
            raise invalid_field(f"{prefix}on_invalid", "must be ON_INVALID_FAIL or ON_INVALID_SKIP")
        params: dict[str, object] = {"kind": kind, "force": force, "on_invalid": str(ON_INVALID[on_invalid])}
        if task_type == TaskType.RECORDS_UPDATE:
            params["on_missing"] = ON_MISSING[on_missing]
        if dry_run:
            params["dry_run"] = True  # service.domain.previews
        return WriteTarget(
            tenant_id=principal.tenant_id,
            submitted_by=principal.token_id,
            section=self.settings.section(section),
            kind=kind,
            task_type=task_type,
            params=params,
            notification_email=notification_email,
            notification_url=notification_url,
        )

    def _validate(self, records: Any, target: WriteTarget, offset: int = 0) -> bytes:
        """Validate, and store `data` as canonical JSON: the worker, which applies a catalog's writes one
        at a time, then stages the text as it is instead of parsing it again.

        on_invalid=SKIP: the invalid records are taken out of `records` and returned as the task's rejected
        part (each with all its problems and the record as sent); otherwise any invalid record is the error."""
        delete = target.task_type == TaskType.RECORDS_DELETE
        if target.params.get("on_invalid") == OnInvalid.SKIP:
            check_record_count(records, self.settings.max_records_per_call)
            kept, rejected = [], []
            merge = target.task_type == TaskType.RECORDS_UPDATE
            for i, record in enumerate(records):
                text, problems = record_problems(record, offset + i, target.kind, merge=merge, delete=delete)
                if problems:
                    rejected.append(rejected_record(record, problems))
                else:
                    if record.data_json != text:
                        record.data_json = text
                    kept.append(record)
            if rejected:
                valid = record_pb2.RecordBatch(records=kept)
                del records[:]
                records.extend(valid.records)
            return encode_rejected(rejected)
        texts = validate_records(
            records,
            target.kind,
            merge=target.task_type == TaskType.RECORDS_UPDATE,
            delete=target.task_type == TaskType.RECORDS_DELETE,
            limit=self.settings.max_records_per_call,
        )
        for record, text in zip(records, texts, strict=True):
            if record.data_json != text:
                record.data_json = text
        return b""

    def _idempotency(self, context: grpc.aio.ServicerContext, target: WriteTarget) -> idempotency.Idempotency | None:
        key = idempotency.key_from(context)
        if key is None:
            return None
        return idempotency.Idempotency(target.tenant_id, key, self.settings.idempotency_window_seconds)

    async def _open_task(
        self,
        session: Session,
        target: WriteTarget,
        catalog_id: int,
        *,
        idempotency_key: str | None,
        request_hash: str | None,
        payload: Iterable[tuple[str, bytes]] = (),
        commit: bool,
    ) -> Task:
        """Insert the task (QUEUED) with what it has of its payload; committed now or by the caller."""
        return await queue.enqueue(
            session,
            tenant_id=target.tenant_id,
            catalog_id=catalog_id,
            task_type=target.task_type,
            params=target.params,
            payload=payload,
            submitted_by=target.submitted_by,
            notification_email=target.notification_email,
            notification_url=target.notification_url or None,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            commit=commit,
        )

    async def _write(
        self,
        request: catalog_pb2.ReplaceRecordsRequest
        | catalog_pb2.UpdateRecordsRequest
        | catalog_pb2.DeleteRecordsRequest,
        context: grpc.aio.ServicerContext,
        method: str,
        task_type: str,
    ) -> tuple[int, str]:
        target = self._target(
            key=request.key,
            section=request.section,
            collection=request.collection,
            task_type=task_type,
            force=request.force,
            notification_email=request.notification_email,
            notification_url=request.notification_url,
            on_missing=getattr(request, "on_missing", 0),
            dry_run=request.validate_only,
            on_invalid=getattr(request, "on_invalid", 0),
        )
        rejected = self._validate(request.records, target)
        target.params["records_total"] = len(request.records)  # progress total (TaskProgress.records_total)
        once = self._idempotency(context, target)
        digest = idempotency.request_hash(_method(method), request) if once else None
        async with (
            catalog_for_write(self.sessions, target.tenant_id, target.section) as catalog,
            self.sessions() as session,
        ):

            async def create() -> int:
                task = await self._open_task(
                    session,
                    target,
                    catalog.id,
                    idempotency_key=once.key if once else None,
                    request_hash=digest,
                    payload=[
                        *([(REJECTED_PART, rejected)] if rejected else []),
                        (RECORDS_PART, encode_chunk(list(request.records))),
                    ],
                    commit=True,
                )
                return task.id

            task_id = await idempotency.submit_once(session, once, digest or "", create)
        return task_id, queue.status_path(task_id)

    async def ReplaceRecords(
        self, request: catalog_pb2.ReplaceRecordsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ReplaceRecordsResponse:
        task_id, path = await self._write(request, context, "ReplaceRecords", TaskType.RECORDS_REPLACE)
        return catalog_pb2.ReplaceRecordsResponse(task_id=task_id, task_status_path=path)

    async def UpdateRecords(
        self, request: catalog_pb2.UpdateRecordsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.UpdateRecordsResponse:
        task_id, path = await self._write(request, context, "UpdateRecords", TaskType.RECORDS_UPDATE)
        return catalog_pb2.UpdateRecordsResponse(task_id=task_id, task_status_path=path)

    async def DeleteRecords(
        self, request: catalog_pb2.DeleteRecordsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.DeleteRecordsResponse:
        task_id, path = await self._write(request, context, "DeleteRecords", TaskType.RECORDS_DELETE)
        return catalog_pb2.DeleteRecordsResponse(task_id=task_id, task_status_path=path)

    async def StreamRecords(
        self, request_iterator: AsyncIterator[catalog_pb2.StreamRecordsRequest], context: grpc.aio.ServicerContext
    ) -> catalog_pb2.StreamRecordsResponse:
        """One task per stream: its batches stored in short transactions under a PENDING task as they come
        (about PART_BYTES a part), queued by one commit at the end.

        No database connection is held while the client sends. A stream that breaks off or carries an
        invalid batch deletes its task: no task, no payload. A retry with the idempotency key of an
        earlier stream is read to its end for the hash and stores nothing.
        """
        async with self.uploads.slot(current_principal().tenant_id):
            requests = idle_timeout(aiter(request_iterator), self.settings.upload_idle_timeout_seconds)
            header = await read_header(requests)
            if header.mode not in WRITE_MODES:
                raise invalid_field("header.mode", "must be WRITE_MODE_REPLACE, WRITE_MODE_UPDATE or WRITE_MODE_DELETE")
            target = self._target(
                key=header.key,
                section=header.section,
                collection=header.collection,
                task_type=WRITE_MODES[header.mode],
                force=header.force,
                notification_email=header.notification_email,
                notification_url=header.notification_url,
                on_missing=header.on_missing,
                on_invalid=header.on_invalid,
                prefix="header.",
                dry_run=header.validate_only,
            )
            once = self._idempotency(context, target)
            # A catalog this stream creates is removed again if the stream fails.
            async with catalog_for_write(
                self.sessions, target.tenant_id, target.section, parameter="header.section"
            ) as catalog:
                async with self.sessions() as session:
                    # An earlier stream with the same key: this one is read to its end for the hash, stored nowhere.
                    earlier = await once.earlier(session) if once else None
                if earlier is not None:
                    assert once is not None
                    digest, received = await self._read_records(header, target, requests, None)
                    task_id = once.answer(earlier, digest)
                else:
                    upload = await PendingUpload.open(
                        self.sessions,
                        self.settings,
                        tenant_id=target.tenant_id,
                        catalog_id=catalog.id,
                        task_type=target.task_type,
                        params=target.params,
                        submitted_by=target.submitted_by,
                        notification_email=target.notification_email,
                        notification_url=target.notification_url or None,
                    )
                    async with upload:
                        digest, received = await self._read_records(header, target, requests, upload)
                        await ensure_not_cancelled(context)
                        # The acknowledgement: queued, in its place in the catalog's queue, NOTIFY delivered.
                        task_id = await upload.submit(
                            params={**target.params, "records_total": received},  # TaskProgress.records_total
                            once=once,
                            digest=digest if once else None,
                        )
        return catalog_pb2.StreamRecordsResponse(
            task_id=task_id, task_status_path=queue.status_path(task_id), records_received=received
        )

    async def _read_records(
        self,
        header: catalog_pb2.StreamRecordsHeader,
        target: WriteTarget,
        requests: AsyncIterator[catalog_pb2.StreamRecordsRequest],
        upload: PendingUpload | None,
    ) -> tuple[str, int]:
        """Validate and store (when `upload`) the stream's batches; the request hash and the record count."""
        digest = idempotency.RequestHash(_method("StreamRecords")).message(header)
        received = 0
        # Serialized RecordBatches concatenate into one RecordBatch holding all their records.
        buffer = bytearray()
        async for message in requests:
            batch = stream_body(message, "batch")
            with _positions_from(received):
                rejected = self._validate(batch.records, target, received) if batch.records else b""
            body = batch.SerializeToString(deterministic=True)
            digest.records(body)
            digest.records(rejected)
            received += len(batch.records) + rejected.count(b"\n")
            if upload is not None and rejected:
                await upload.add(REJECTED_PART, rejected)
            if upload is None or not batch.records:
                continue
            buffer += body
            if len(buffer) >= PART_BYTES:
                await upload.add(RECORDS_PART, bytes(buffer))
                buffer.clear()
            else:
                await upload.keep_alive()
        if received == 0:
            raise invalid_field("batch", "at least one record is required", ErrorReason.NO_RECORDS)
        if upload is not None and buffer:
            await upload.add(RECORDS_PART, bytes(buffer))
        return digest.hexdigest(), received


@dataclass(frozen=True)
class WriteTarget:
    """A checked write request: whose catalog, which kind of record, which task."""

    tenant_id: int
    submitted_by: int | None
    section: str
    kind: int
    task_type: str
    params: dict[str, object]
    notification_email: str
    notification_url: str = ""


def _method(name: str) -> str:
    return catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"].methods_by_name[name].full_name


@contextlib.contextmanager
def _fields_under(prefix: str) -> Iterator[None]:
    """Name the fields of a stream's header as `header.<field>` in the errors raised inside."""
    try:
        yield
    except InvalidArgument as error:
        if not prefix:
            raise
        head = FieldPath.parse(prefix.removesuffix("."))
        error.field_violations = [(head / path, d) for path, d in error.violations]
        raise


@contextlib.contextmanager
def _positions_from(offset: int) -> Iterator[None]:
    """validate_records names records[i] inside one batch; a stream names the record's position in the stream."""
    try:
        yield
    except InvalidArgument as error:
        error.field_violations = [(path.shifted("records", offset), d) for path, d in error.violations]
        if error.reason == ErrorReason.TOO_MANY_RECORDS:
            limit = error.metadata.get("limit", "")
            error.message = f"at most {limit} records per batch message (the batch at records[{offset}] has more)"
            error.field_violations = [(FieldPath.of("batch", "records"), f"at most {limit} records per batch message")]
        elif error.field_violations:
            field, description = error.field_violations[0]
            error.message = f"{field}: {description}"
        error.args = (error.message,)
        raise


def _check_lookup_ids(field: str, ids: Sequence[str], context: str = "") -> None:
    """Ids looked up follow the id rule too (R1): no record has another, and PostgreSQL cannot even compare a
    NUL (a 500 before)."""
    violations = [(f"{field}[{i}]", problem) for i, value in enumerate(ids) if (problem := id_problem(value))]
    if problem := id_problem(context, required=False):
        violations.append(("context", problem))
    if violations:
        raise InvalidArgument(f"{violations[0][0]}: {violations[0][1]}", field_violations=violations[:20])
