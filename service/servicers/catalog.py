"""CatalogService: record reads, and record writes that become tasks."""

from __future__ import annotations

import grpc
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalogingest.v1 import catalog_pb2, catalog_pb2_grpc
from service import paging
from service.catalogs import ensure_catalog, get_catalog
from service.db.models import Record
from service.errors import InvalidArgument
from service.interceptors import current_principal
from service.records import kind_for_collection, row_to_proto, validate_records
from service.settings import Settings
from service.tasks import queue
from service.tasks.record_writes import RECORDS_PART, encode_chunk

RECORD_COLUMNS = (
    Record.kind,
    Record.record_id,
    Record.context,
    Record.name,
    Record.suggested_score,
    Record.parent_id,
    Record.parent_ids,
    Record.data,
    Record.op_ts,
)
ON_MISSING = {0: "FAIL", 1: "FAIL", 2: "IGNORE", 3: "CREATE"}


class CatalogServicer(catalog_pb2_grpc.CatalogServiceServicer):
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings

    def _section(self, section: str) -> str:
        return section or self.settings.default_section

    async def BatchGetRecords(
        self, request: catalog_pb2.BatchGetRecordsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.BatchGetRecordsResponse:
        principal = current_principal()
        principal.check_tenant(request.key, "key")
        kind = kind_for_collection(request.collection)
        if len(request.ids) > paging.MAX_PAGE_SIZE:
            raise InvalidArgument(f"at most {paging.MAX_PAGE_SIZE} ids", field_violations=[("ids", "too many")])
        async with self.sessions() as session:
            catalog = await get_catalog(session, principal.tenant_id, self._section(request.section))
            rows = (
                await session.execute(
                    select(*RECORD_COLUMNS).where(
                        Record.version_id == catalog.active_version_id,
                        Record.kind == kind,
                        Record.context == request.context,
                        Record.record_id.in_(list(request.ids)),
                    )
                )
            ).all()
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
        async with self.sessions() as session:
            catalog = await get_catalog(session, principal.tenant_id, self._section(request.section))
            where = [Record.version_id == catalog.active_version_id, Record.kind == kind]
            if request.id:
                where.append(Record.record_id.in_(list(request.id)))
            total = (await session.execute(select(func.count()).select_from(Record).where(*where))).scalar_one()
            query = select(*RECORD_COLUMNS).where(*where).order_by(Record.record_id, Record.context).limit(size + 1)
            if request.page_token:
                after = paging.decode_token(request.page_token)
                last_id, last_context = str(after.get("id", "")), str(after.get("context", ""))
                query = query.where(
                    or_(
                        Record.record_id > last_id,
                        and_(Record.record_id == last_id, Record.context > last_context),
                    )
                )
            else:
                query = query.offset(paging.offset_for_page(request.page, size))
            rows = (await session.execute(query)).all()
        response = catalog_pb2.ListRecordsResponse(records=[row_to_proto(r) for r in rows[:size]], total_count=total)
        if len(rows) > size:
            last = rows[size - 1]
            response.next_page_token = paging.encode_token({"id": last.record_id, "context": last.context})
        return response

    async def _write(
        self,
        request: catalog_pb2.ReplaceRecordsRequest
        | catalog_pb2.UpdateRecordsRequest
        | catalog_pb2.DeleteRecordsRequest,
        task_type: str,
        params: dict[str, object],
    ) -> tuple[int, str]:
        principal = current_principal()
        principal.check_tenant(request.key, "key")
        kind = kind_for_collection(request.collection)
        validate_records(
            request.records,
            kind,
            merge=task_type == "records_update",
            delete=task_type == "records_delete",
            limit=self.settings.max_records_per_call,
        )
        async with self.sessions() as session:
            catalog = await ensure_catalog(session, principal.tenant_id, self._section(request.section))
            task = await queue.enqueue(
                session,
                tenant_id=principal.tenant_id,
                catalog_id=catalog.id,
                task_type=task_type,
                params={"kind": kind, "force": request.force, **params},
                payload=[(RECORDS_PART, encode_chunk(list(request.records)))],
                submitted_by=principal.token_id,
                notification_email=request.notification_email,
            )
        return task.id, f"/v1/task/{task.id}"

    async def ReplaceRecords(
        self, request: catalog_pb2.ReplaceRecordsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ReplaceRecordsResponse:
        task_id, path = await self._write(request, "records_replace", {})
        return catalog_pb2.ReplaceRecordsResponse(task_id=task_id, task_status_path=path)

    async def UpdateRecords(
        self, request: catalog_pb2.UpdateRecordsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.UpdateRecordsResponse:
        task_id, path = await self._write(request, "records_update", {"on_missing": ON_MISSING[request.on_missing]})
        return catalog_pb2.UpdateRecordsResponse(task_id=task_id, task_status_path=path)

    async def DeleteRecords(
        self, request: catalog_pb2.DeleteRecordsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.DeleteRecordsResponse:
        task_id, path = await self._write(request, "records_delete", {})
        return catalog_pb2.DeleteRecordsResponse(task_id=task_id, task_status_path=path)
