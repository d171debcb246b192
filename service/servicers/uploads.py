"""CatalogService.UploadCatalog: CSV files streamed into a task's payload, stored before the id is returned.

No database connection is held while the client sends: parts are stored in short transactions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from catalogingest.v1 import catalog_pb2, record_pb2
from service.db.engine import Sessions
from service.domain.catalogs import catalog_for_write
from service.domain.csv_records import FILE_NAMES
from service.errors import invalid_field
from service.interceptors import current_principal
from service.servicers.streaming import UploadSlots, ensure_not_cancelled, idle_timeout, read_header, stream_body
from service.settings import Settings
from service.tasks import queue
from service.tasks.pending import PendingUpload
from service.tasks.status import TaskType
from service.webhooks.urls import check_url

# Chunks are coalesced to about this size before they are stored.
PART_BYTES = 1024 * 1024
MODES = {catalog_pb2.UPLOAD_MODE_SYNC: TaskType.CATALOG_SYNC, catalog_pb2.UPLOAD_MODE_DELTA: TaskType.CATALOG_DELTA}


def check_header(header: catalog_pb2.UploadCatalogHeader) -> str:
    if header.mode not in MODES:
        raise invalid_field("header.mode", "must be UPLOAD_MODE_SYNC or UPLOAD_MODE_DELTA")
    if header.patch_delta and header.mode != catalog_pb2.UPLOAD_MODE_DELTA:
        raise invalid_field("header.patch_delta", "only a delta can be a patch")
    if header.on_invalid not in (
        catalog_pb2.ON_INVALID_UNSPECIFIED,
        catalog_pb2.ON_INVALID_FAIL,
        catalog_pb2.ON_INVALID_SKIP,
    ):
        raise invalid_field("header.on_invalid", "must be ON_INVALID_FAIL or ON_INVALID_SKIP")
    if len(set(header.files)) != len(header.files) or not set(header.files) <= set(FILE_NAMES):
        raise invalid_field("header.files", "each of items, variations, item_groups at most once")
    if header.notification_url:
        check_url(header.notification_url, "header.notification_url")
    return MODES[header.mode]


class UploadRpcs:
    sessions: Sessions
    settings: Settings
    uploads: UploadSlots

    async def UploadCatalog(
        self, request_iterator: AsyncIterator[catalog_pb2.UploadCatalogRequest], context: grpc.aio.ServicerContext
    ) -> catalog_pb2.UploadCatalogResponse:
        principal = current_principal()
        async with self.uploads.slot(principal.tenant_id):
            requests = idle_timeout(aiter(request_iterator), self.settings.upload_idle_timeout_seconds)
            header = await read_header(requests)
            task_type = check_header(header)
            on_invalid = "SKIP" if header.on_invalid == catalog_pb2.ON_INVALID_SKIP else "FAIL"
            principal.check_tenant(header.key, "key")
            section = header.section or self.settings.default_section
            # A catalog this upload creates is removed again if the upload fails.
            async with catalog_for_write(self.sessions, principal.tenant_id, section) as catalog:
                # Stored part by part under a PENDING task, queued by the last commit (service.tasks.pending).
                upload = await PendingUpload.open(
                    self.sessions,
                    self.settings,
                    tenant_id=principal.tenant_id,
                    catalog_id=catalog.id,
                    task_type=task_type,
                    params={"patch_delta": header.patch_delta, "force": header.force, "on_invalid": on_invalid},
                    submitted_by=principal.token_id,
                    notification_email=header.notification_email,
                    notification_url=header.notification_url or None,
                )
                async with upload:
                    files = await self._store_files(header, requests, upload)
                    # A cancelled upload also ends the request iterator: never queue a truncated file as a sync.
                    await ensure_not_cancelled(context)
                    task_id = await upload.submit(
                        params={
                            "patch_delta": header.patch_delta,
                            "force": header.force,
                            "on_invalid": on_invalid,
                            "files": files,
                            "bytes_total": upload.stored_bytes,  # TaskProgress.bytes_total
                        }
                    )
        return catalog_pb2.UploadCatalogResponse(task_id=task_id, task_status_path=queue.status_path(task_id))

    @staticmethod
    async def _store_files(
        header: catalog_pb2.UploadCatalogHeader,
        requests: AsyncIterator[catalog_pb2.UploadCatalogRequest],
        upload: PendingUpload,
    ) -> list[int]:
        """Store the files' chunks, coalesced to about PART_BYTES a part; the kinds of file received."""
        # Files are declared in the header, or by their first chunk (an empty chunk declares an empty file):
        # a multipart upload only learns which files it carries as it streams them.
        declared = set(header.files)
        buffers: dict[int, bytearray] = {kind: bytearray() for kind in declared}
        async for message in requests:
            chunk = stream_body(message, "chunk")
            kind = chunk.file
            if kind not in FILE_NAMES or (declared and kind not in declared):
                name = record_pb2.RecordKind.Name(kind) if kind in record_pb2.RecordKind.values() else str(kind)
                raise invalid_field("chunk.file", f"{name} is not one of the files declared in the header")
            buffers.setdefault(kind, bytearray()).extend(chunk.data)
            if len(buffers[kind]) >= PART_BYTES:
                await upload.add(FILE_NAMES[kind], bytes(buffers[kind]))
                buffers[kind].clear()
            else:
                await upload.keep_alive()
        if not buffers:
            raise invalid_field("files", "send at least one of the files items, variations, item_groups")
        for kind in sorted(buffers):
            if buffers[kind]:
                await upload.add(FILE_NAMES[kind], bytes(buffers[kind]))
        return sorted(buffers)
