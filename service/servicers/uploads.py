"""CatalogService.UploadCatalog: CSV files streamed into a task's payload, stored before the id is returned.

No database connection is held while the client sends: parts are stored in short transactions."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import grpc

from catalogingest.v1 import catalog_pb2, record_pb2
from service.db.engine import Sessions
from service.domain import idempotency
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

_UPLOAD = idempotency.method_name(catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"], "UploadCatalog")
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
            section = self.settings.section(header.section)
            once = idempotency.of_request(context, principal.tenant_id, self.settings.idempotency_window_seconds)
            params: dict[str, object] = {
                "patch_delta": header.patch_delta,
                "force": header.force,
                "on_invalid": on_invalid,
            }
            if header.validate_only:
                params["dry_run"] = True  # service.domain.previews
            # A catalog this upload creates is removed again if the upload fails.
            async with catalog_for_write(self.sessions, principal.tenant_id, section) as catalog:
                async with self.sessions() as session:
                    # An earlier upload with the same key: this one is read to its end for the hash, stored nowhere.
                    earlier = await once.earlier(session) if once else None
                if once is not None and earlier is not None:
                    digest = UploadHash(header)
                    await self._store_files(header, requests, None, digest)
                    task_id = once.answer(earlier, digest.hexdigest())
                else:
                    # Stored part by part under a PENDING task, queued by the last commit (service.tasks.pending).
                    upload = await PendingUpload.open(
                        self.sessions,
                        self.settings,
                        tenant_id=principal.tenant_id,
                        catalog_id=catalog.id,
                        task_type=task_type,
                        params=params,
                        submitted_by=principal.token_id,
                        notification_email=header.notification_email,
                        notification_url=header.notification_url or None,
                    )
                    async with upload:
                        digest = UploadHash(header)
                        files = await self._store_files(header, requests, upload, digest)
                        # A cancelled upload also ends the request iterator: never queue a truncated file as a sync.
                        await ensure_not_cancelled(context)
                        task_id = await upload.submit(
                            params={
                                **params,
                                "files": files,
                                "bytes_total": upload.stored_bytes,  # TaskProgress.bytes_total
                            },
                            once=once,
                            digest=digest.hexdigest() if once else None,
                        )
        return catalog_pb2.UploadCatalogResponse(task_id=task_id, task_status_path=queue.status_path(task_id))

    @staticmethod
    async def _store_files(
        header: catalog_pb2.UploadCatalogHeader,
        requests: AsyncIterator[catalog_pb2.UploadCatalogRequest],
        upload: PendingUpload | None,
        digest: UploadHash,
    ) -> list[int]:
        """Store the files' chunks (when `upload`), coalesced to about PART_BYTES a part, hashing them as they
        come; the kinds of file received."""
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
            digest.add(kind, chunk.data)
            if upload is None:
                buffers[kind].clear()
                continue
            if len(buffers[kind]) >= PART_BYTES:
                await upload.add(FILE_NAMES[kind], bytes(buffers[kind]))
                buffers[kind].clear()
            else:
                await upload.keep_alive()
        if not buffers:
            raise invalid_field("files", "send at least one of the files items, variations, item_groups")
        for kind in sorted(buffers):
            digest.add(kind, b"")  # a declared empty file is part of the request
            if buffers[kind] and upload is not None:
                await upload.add(FILE_NAMES[kind], bytes(buffers[kind]))
        return sorted(buffers)


class UploadHash:
    """The hash of an upload for its idempotency key: the header, then each file's bytes, whatever the chunks
    they were cut into (one running hash per file, combined in file order at the end)."""

    def __init__(self, header: catalog_pb2.UploadCatalogHeader) -> None:
        self.header = header
        self.files: dict[int, Any] = {}

    def add(self, kind: int, data: bytes) -> None:
        self.files.setdefault(kind, hashlib.sha256()).update(data)

    def hexdigest(self) -> str:
        combined = idempotency.RequestHash(_UPLOAD).message(self.header)
        for kind in sorted(self.files):
            combined.records(kind.to_bytes(4, "big") + self.files[kind].digest())
        return combined.hexdigest()
