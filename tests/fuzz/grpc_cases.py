"""Strategies for the unary RPCs of the three services: a valid request per RPC (`unary_rpcs`) mutated by
`grpc_mutate.mutated`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message
from hypothesis import strategies as st

from catalogingest.v1 import batch_pb2, catalog_pb2, record_pb2, task_pb2
from tests.fuzz.conftest import TYPED_FIELDS, Seed
from tests.fuzz.grpc_mutate import B, C, T, mutated, request_words, short, unary
from tests.fuzz.grpc_verify import verify_bulk, verify_records
from tests.fuzz.oracle import GrpcCase

# --- the base request of each RPC ---------------------------------------------------------------------------


def base_records(collection: str, n: int = 2) -> list[record_pb2.Record]:
    kind = {"items": 1, "variations": 2, "item_groups": 3}[collection]
    out = []
    for i in range(n):
        r = record_pb2.Record(kind=kind, id=f"gf-{i}", name=f"G {i}", data_json=json.dumps({"k": i}))
        if kind == 2:
            r.item_id = "i0"
        if kind == 3:
            r.parent_ids.append("g0")
        out.append(r)
    return out


def base_bulk_items() -> list[catalog_pb2.CatalogItem]:
    return [
        catalog_pb2.CatalogItem(item_id=f"gb-{i}", properties_json=json.dumps({"title": "T", "price": i}))
        for i in range(2)
    ]


def base_batch_items(seed: Seed) -> list[batch_pb2.BatchItem]:
    return [batch_pb2.BatchItem(id=f"gi-{i}", type="product", attributes_json=json.dumps({"n": i})) for i in range(2)]


def unary_rpcs(seed: Seed) -> dict[str, tuple[str, Any, Callable[[], Message], Any, bool]]:
    """RPC -> (service, response class, base request factory, verify factory or None, writes)."""
    env = {"tenant": "acme", "environment": seed.environment}
    fields = [catalog_pb2.CatalogField(**f) for f in TYPED_FIELDS[:2]]
    return {
        "BatchGetRecords": (
            C,
            catalog_pb2.BatchGetRecordsResponse,
            lambda: catalog_pb2.BatchGetRecordsRequest(collection="items", ids=["i0", "i1"]),
            None,
            False,
        ),
        "ListRecords": (
            C,
            catalog_pb2.ListRecordsResponse,
            lambda: catalog_pb2.ListRecordsRequest(collection="items", num_results_per_page=2),
            None,
            False,
        ),
        "ReplaceRecords": (
            C,
            catalog_pb2.ReplaceRecordsResponse,
            lambda: catalog_pb2.ReplaceRecordsRequest(collection="items", records=base_records("items")),
            lambda r: verify_records("REPLACE", r),
            True,
        ),
        "UpdateRecords": (
            C,
            catalog_pb2.UpdateRecordsResponse,
            lambda: catalog_pb2.UpdateRecordsRequest(collection="items", records=base_records("items"), on_missing=3),
            lambda r: verify_records("UPDATE", r),
            True,
        ),
        "DeleteRecords": (
            C,
            catalog_pb2.DeleteRecordsResponse,
            lambda: catalog_pb2.DeleteRecordsRequest(collection="items", records=base_records("items", 1)),
            lambda r: verify_records("DELETE", r),
            True,
        ),
        "CreateCatalogDefinition": (
            C,
            catalog_pb2.CreateCatalogDefinitionResponse,
            lambda: catalog_pb2.CreateCatalogDefinitionRequest(
                project_id="acme", catalog=catalog_pb2.CatalogDefinition(name="gdef", fields=fields)
            ),
            None,
            True,
        ),
        "GetCatalogDefinition": (
            C,
            catalog_pb2.GetCatalogDefinitionResponse,
            lambda: catalog_pb2.GetCatalogDefinitionRequest(project_id="acme", catalog_id="typed"),
            None,
            False,
        ),
        "ListCatalogDefinitions": (
            C,
            catalog_pb2.ListCatalogDefinitionsResponse,
            lambda: catalog_pb2.ListCatalogDefinitionsRequest(project_id="acme", page_size=1),
            None,
            False,
        ),
        "AddCatalogFields": (
            C,
            catalog_pb2.AddCatalogFieldsResponse,
            lambda: catalog_pb2.AddCatalogFieldsRequest(project_id="acme", catalog_id="typed", fields=fields),
            None,
            True,
        ),
        "BulkReplaceCatalogItems": (
            C,
            catalog_pb2.BulkReplaceCatalogItemsResponse,
            lambda: catalog_pb2.BulkReplaceCatalogItemsRequest(
                project_id="acme", catalog_id="typed", items=base_bulk_items()
            ),
            lambda r: verify_bulk(False, r),
            True,
        ),
        "BulkUpdateCatalogItems": (
            C,
            catalog_pb2.BulkUpdateCatalogItemsResponse,
            lambda: catalog_pb2.BulkUpdateCatalogItemsRequest(
                project_id="acme", catalog_id="typed", items=base_bulk_items(), upsert=True
            ),
            lambda r: verify_bulk(True, r),
            True,
        ),
        "GetRecord": (
            C,
            catalog_pb2.GetRecordResponse,
            lambda: catalog_pb2.GetRecordRequest(collection="items", id="i0"),
            None,
            False,
        ),
        "ListRecordHistory": (
            C,
            catalog_pb2.ListRecordHistoryResponse,
            lambda: catalog_pb2.ListRecordHistoryRequest(collection="items", id="i0", num_results_per_page=2),
            None,
            False,
        ),
        "ListTaskChanges": (
            T,
            task_pb2.ListTaskChangesResponse,
            lambda: task_pb2.ListTaskChangesRequest(id=seed.task_id, num_results_per_page=2),
            None,
            False,
        ),
        "GetTask": (T, task_pb2.GetTaskResponse, lambda: task_pb2.GetTaskRequest(id=seed.task_id), None, False),
        "ListTasks": (
            T,
            task_pb2.ListTasksResponse,
            lambda: task_pb2.ListTasksRequest(num_results_per_page=2),
            None,
            False,
        ),
        "CancelTask": (T, task_pb2.CancelTaskResponse, lambda: task_pb2.CancelTaskRequest(id=seed.task_id), None, True),
        "GetIngestionStatus": (T, task_pb2.GetIngestionStatusResponse, task_pb2.GetIngestionStatusRequest, None, False),
        "CreateBatch": (B, batch_pb2.CreateBatchResponse, lambda: batch_pb2.CreateBatchRequest(**env), None, True),
        "ListBatches": (B, batch_pb2.ListBatchesResponse, lambda: batch_pb2.ListBatchesRequest(**env), None, False),
        "AddBatchItems": (
            B,
            batch_pb2.AddBatchItemsResponse,
            lambda: batch_pb2.AddBatchItemsRequest(**env, batch_id=seed.batch_id, items=base_batch_items(seed)),
            None,
            True,
        ),
        "UpdateBatchItems": (
            B,
            batch_pb2.UpdateBatchItemsResponse,
            lambda: batch_pb2.UpdateBatchItemsRequest(**env, batch_id=seed.batch_id, items=base_batch_items(seed)),
            None,
            True,
        ),
        "DeleteBatchItems": (
            B,
            batch_pb2.DeleteBatchItemsResponse,
            lambda: batch_pb2.DeleteBatchItemsRequest(**env, batch_id=seed.batch_id, items=base_batch_items(seed)),
            None,
            True,
        ),
        "CreateIngestion": (
            B,
            batch_pb2.CreateIngestionResponse,
            lambda: batch_pb2.CreateIngestionRequest(**env, batch_import_id=seed.batch_id, min_item_count=1000),
            None,
            True,
        ),
        "GetIngestion": (
            B,
            batch_pb2.GetIngestionResponse,
            lambda: batch_pb2.GetIngestionRequest(**env, id=seed.ingestion_id),
            None,
            False,
        ),
        "ListIngestions": (
            B,
            batch_pb2.ListIngestionsResponse,
            lambda: batch_pb2.ListIngestionsRequest(tenant="acme", environment=[seed.environment]),
            None,
            False,
        ),
        "DeleteIngestion": (
            B,
            batch_pb2.DeleteIngestionResponse,
            lambda: batch_pb2.DeleteIngestionRequest(**env, id="nope"),
            None,
            True,
        ),
        "CreateCatalogVersion": (
            B,
            batch_pb2.CreateCatalogVersionResponse,
            lambda: batch_pb2.CreateCatalogVersionRequest(**env),
            None,
            True,
        ),
        "ListCatalogVersions": (
            B,
            batch_pb2.ListCatalogVersionsResponse,
            lambda: batch_pb2.ListCatalogVersionsRequest(**env),
            None,
            False,
        ),
        "GetActiveCatalogVersion": (
            B,
            batch_pb2.GetActiveCatalogVersionResponse,
            lambda: batch_pb2.GetActiveCatalogVersionRequest(**env),
            None,
            False,
        ),
        "ActivateCatalogVersion": (
            B,
            batch_pb2.ActivateCatalogVersionResponse,
            lambda: batch_pb2.ActivateCatalogVersionRequest(**env, version=seed.version),
            None,
            True,
        ),
        "DeleteCatalogVersion": (
            B,
            batch_pb2.DeleteCatalogVersionResponse,
            lambda: batch_pb2.DeleteCatalogVersionRequest(**env, version="999"),
            None,
            True,
        ),
    }


@st.composite
def unary_case(draw: st.DrawFn, seed: Seed, method: str) -> GrpcCase:
    service, response, base, verify, writes = unary_rpcs(seed)[method]
    request, names = draw(mutated(base()))

    async def call(stack: Any) -> Any:
        return await unary(service, method, response)(stack, request)

    what = "hostile " + (",".join(sorted({n for n in names if "." not in n and "[" not in n})) or "nothing")
    return GrpcCase(
        f"{service.split('.')[-1]}/{method}",
        what,
        call,
        f"{method}({short(request)})",
        names=(*names, *request_words(method, request.DESCRIPTOR)),
        verify=verify(request) if verify else None,
        writes=writes,
    )
