"""Adding, modifying and deleting the items of a batch: three unary calls and a client stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TypeVar

import grpc

from catalogingest.v1 import batch_pb2
from service.db.models import Batch
from service.domain import idempotency
from service.domain.batch_items import ItemResult, Operation, write_items
from service.domain.batches import get_live_batch
from service.errors import InvalidArgument, invalid_field
from service.interceptors import current_principal
from service.servicers.batch_scope import BatchScope
from service.servicers.streaming import accept_header, idle_timeout, read_header, stream_body

# The refused items a stream reports one by one; the rest are counted.
MAX_STREAM_ERRORS = 1000
_OPERATIONS: dict[int, Operation] = {
    batch_pb2.BATCH_OPERATION_ADD: "add",
    batch_pb2.BATCH_OPERATION_MODIFY: "modify",
    batch_pb2.BATCH_OPERATION_DELETE: "delete",
}

_SERVICE = batch_pb2.DESCRIPTOR.services_by_name["BatchService"]
R = TypeVar(
    "R", batch_pb2.AddBatchItemsResponse, batch_pb2.UpdateBatchItemsResponse, batch_pb2.DeleteBatchItemsResponse
)
ItemsRequest = batch_pb2.AddBatchItemsRequest | batch_pb2.UpdateBatchItemsRequest | batch_pb2.DeleteBatchItemsRequest


def _key(result: ItemResult) -> batch_pb2.BatchItemKey:
    return batch_pb2.BatchItemKey(id=result.item_id, type=result.item_type, context=result.context)


def _result(result: ItemResult) -> batch_pb2.BatchItemResult:
    out = batch_pb2.BatchItemResult(id=_key(result), code=int(result.code), warnings=result.warnings)
    if result.code:
        out.message = result.message
    return out


class BatchItemRpcs(BatchScope):
    async def _batch(self, tenant: str, environment: str, batch_id: str) -> Batch:
        tenant_id = self._scope(tenant, environment)
        if not batch_id:
            raise invalid_field("batch_id", "required")
        async with self.sessions() as session:
            catalog = await self._catalog(session, tenant_id, environment)
            return await get_live_batch(session, catalog.id, batch_id)

    async def _write(
        self, request: ItemsRequest, op: Operation, context: grpc.aio.ServicerContext, method: str, response: type[R]
    ) -> R:
        """The per-item results; with an idempotency key, a retry of the same request gets the first answer."""
        batch = await self._batch(request.tenant, request.environment, request.batch_id)
        tenant_id = current_principal().tenant_id
        once = idempotency.of_request(context, tenant_id, self.settings.idempotency_window_seconds)
        digest = idempotency.request_hash(idempotency.method_name(_SERVICE, method), request) if once else ""

        async def write() -> R:
            async with self.sessions() as session:
                results = await write_items(session, batch.id, op, request.items)
            return response(results=[_result(r) for r in results])

        return await idempotency.answer_once(self.sessions, once, digest, response, write)

    async def AddBatchItems(
        self, request: batch_pb2.AddBatchItemsRequest, context: grpc.aio.ServicerContext
    ) -> batch_pb2.AddBatchItemsResponse:
        return await self._write(request, "add", context, "AddBatchItems", batch_pb2.AddBatchItemsResponse)

    async def UpdateBatchItems(
        self, request: batch_pb2.UpdateBatchItemsRequest, context: grpc.aio.ServicerContext
    ) -> batch_pb2.UpdateBatchItemsResponse:
        return await self._write(request, "modify", context, "UpdateBatchItems", batch_pb2.UpdateBatchItemsResponse)

    async def DeleteBatchItems(
        self, request: batch_pb2.DeleteBatchItemsRequest, context: grpc.aio.ServicerContext
    ) -> batch_pb2.DeleteBatchItemsResponse:
        return await self._write(request, "delete", context, "DeleteBatchItems", batch_pb2.DeleteBatchItemsResponse)

    async def StreamBatchItems(
        self, request_iterator: AsyncIterator[batch_pb2.StreamBatchItemsRequest], context: grpc.aio.ServicerContext
    ) -> batch_pb2.StreamBatchItemsResponse:
        """Each chunk is checked and stored as it arrives, in a short transaction of its own (what was stored
        stays stored if the stream breaks); no connection is held while the client sends."""
        async with self.uploads.slot(current_principal().tenant_id):
            requests = idle_timeout(aiter(request_iterator), self.settings.upload_idle_timeout_seconds)
            header = await read_header(requests)
            if header.operation not in _OPERATIONS:
                raise InvalidArgument(
                    "header.operation must be ADD, MODIFY or DELETE",
                    field_violations=[("header.operation", "must be ADD, MODIFY or DELETE")],
                )
            op = _OPERATIONS[header.operation]
            batch = await self._batch(header.tenant, header.environment, header.batch_id)
            once = idempotency.of_request(
                context, current_principal().tenant_id, self.settings.idempotency_window_seconds
            )
            digest = idempotency.RequestHash(idempotency.method_name(_SERVICE, "StreamBatchItems")).message(header)
            # A retry of an earlier stream with the key is read to its end for the hash and writes nothing.
            taken = once is not None and await self._key_taken(once)
            await accept_header(context)
            response = batch_pb2.StreamBatchItemsResponse()
            async for message in requests:
                chunk = stream_body(message, "chunk")
                digest.records(chunk.SerializeToString(deterministic=True))
                if not taken:
                    await self._write_chunk(batch, op, chunk.items, response)
            if once is None:
                return response
            if taken:
                answered = await idempotency.earlier_answer(
                    self.sessions, once, digest.hexdigest(), batch_pb2.StreamBatchItemsResponse
                )
                # None: the key's window ended while this stream was read (nothing of it was written).
                return answered if answered is not None else response
            return await idempotency.keep_answer(self.sessions, once, digest.hexdigest(), response)

    async def _key_taken(self, once: idempotency.Idempotency) -> bool:
        async with self.sessions() as session:
            return await once.earlier(session) is not None

    async def _write_chunk(
        self,
        batch: Batch,
        op: Operation,
        items: Sequence[batch_pb2.BatchItem],
        response: batch_pb2.StreamBatchItemsResponse,
    ) -> None:
        async with self.sessions() as session:
            results = await write_items(session, batch.id, op, items)
        start = response.items_received
        for offset, result in enumerate(results):
            if not result.code:
                continue
            response.items_rejected += 1
            if len(response.errors) < MAX_STREAM_ERRORS:
                response.errors.append(
                    batch_pb2.BatchItemError(
                        index=start + offset, id=_key(result), code=int(result.code), message=result.message
                    )
                )
        response.items_received += len(results)
        response.items_accepted = response.items_received - response.items_rejected
