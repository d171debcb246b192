"""Record history RPCs: GetRecord (with as_of), ListRecordHistory (CatalogService), ListTaskChanges (TaskService)."""

from __future__ import annotations

import datetime as dt

import grpc

from catalogingest.v1 import catalog_pb2, task_pb2
from service.db.sessions import Sessions
from service.domain import paging
from service.domain import record_history as history
from service.domain.catalogs import get_catalog
from service.domain.ids import check_record_key
from service.domain.records import kind_for_collection, row_to_proto
from service.errors import invalid_field
from service.interceptors import current_principal
from service.settings import Settings
from service.store.record_history import database_now, record_changes, task_changes
from service.store.record_reads import get_records

# Changes undone per read while rewinding a record to `as_of`.
_REWIND_CHUNK = 1000


def _as_of(request: catalog_pb2.GetRecordRequest) -> dt.datetime | None:
    if not request.HasField("as_of"):
        return None
    try:
        return request.as_of.ToDatetime(dt.UTC)
    except (ValueError, OverflowError) as error:
        raise invalid_field("as_of", "must be a time between years 1 and 9999") from error


class RecordHistoryRpcs:
    sessions: Sessions
    settings: Settings

    async def GetRecord(
        self, request: catalog_pb2.GetRecordRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.GetRecordResponse:
        principal = current_principal()
        principal.check_tenant(request.key, "key")
        kind = kind_for_collection(request.collection)
        check_record_key(request.id, request.context)
        as_of = _as_of(request)
        async with self.sessions() as session:
            catalog = await get_catalog(session, principal.tenant_id, self.settings.section(request.section))
            version = catalog.active_version_id
            rows = await get_records(session, version, kind, request.context, [request.id])
            if as_of is None:
                if not rows:
                    raise history.record_absent(request.collection, request.id, None)
                return catalog_pb2.GetRecordResponse(record=row_to_proto(rows[0]))
            history.check_as_of(as_of, await database_now(session), self.settings.history_retention_seconds)
            state = history.state_of(rows[0]) if rows else None
            before_id = None
            while True:
                changes = await record_changes(
                    session,
                    version,
                    kind,
                    request.id,
                    request.context,
                    _REWIND_CHUNK,
                    before_id=before_id,
                    after_time=as_of,
                )
                for change in changes:
                    state = history.undo(state, change)
                if len(changes) < _REWIND_CHUNK:
                    break
                before_id = changes[-1].id
        if state is None:
            raise history.record_absent(request.collection, request.id, as_of)
        row = history.state_row(kind, request.id, request.context, state)
        return catalog_pb2.GetRecordResponse(record=row_to_proto(row))

    async def ListRecordHistory(
        self, request: catalog_pb2.ListRecordHistoryRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ListRecordHistoryResponse:
        principal = current_principal()
        principal.check_tenant(request.key, "key")
        kind = kind_for_collection(request.collection)
        check_record_key(request.id, request.context)
        size = paging.page_size(request.num_results_per_page)
        before = paging.decode_token(request.page_token, {"before": int})["before"] if request.page_token else None
        async with self.sessions() as session:
            catalog = await get_catalog(session, principal.tenant_id, self.settings.section(request.section))
            rows = await record_changes(
                session, catalog.active_version_id, kind, request.id, request.context, size + 1, before_id=before
            )
        response = catalog_pb2.ListRecordHistoryResponse(changes=[history.change_to_proto(r) for r in rows[:size]])
        if len(rows) > size:
            response.next_page_token = paging.encode_token({"before": rows[size - 1].id})
        return response


class TaskChangeRpcs:
    sessions: Sessions

    async def ListTaskChanges(
        self, request: task_pb2.ListTaskChangesRequest, context: grpc.aio.ServicerContext
    ) -> task_pb2.ListTaskChangesResponse:
        principal = current_principal()
        principal.check_tenant(request.key, "key")
        size = paging.page_size(request.num_results_per_page)
        after = paging.decode_token(request.page_token, {"after": int})["after"] if request.page_token else None
        async with self.sessions() as session:
            # The task must be the caller's tenant's (TASK_NOT_FOUND otherwise).
            await self.queue.get_task_in_section(session, principal.tenant_id, request.id)  # type: ignore[attr-defined]
            rows = await task_changes(session, request.id, size + 1, after_id=after)
        response = task_pb2.ListTaskChangesResponse(changes=[history.change_to_proto(r) for r in rows[:size]])
        if len(rows) > size:
            response.next_page_token = paging.encode_token({"after": rows[size - 1].id})
        return response
