import datetime

from catalogingest.v1 import task_pb2 as _task_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BatchOperation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BATCH_OPERATION_UNSPECIFIED: _ClassVar[BatchOperation]
    BATCH_OPERATION_ADD: _ClassVar[BatchOperation]
    BATCH_OPERATION_MODIFY: _ClassVar[BatchOperation]
    BATCH_OPERATION_DELETE: _ClassVar[BatchOperation]

class IngestionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INGESTION_STATUS_UNSPECIFIED: _ClassVar[IngestionStatus]
    INGESTION_STATUS_RUNNING: _ClassVar[IngestionStatus]
    INGESTION_STATUS_SUCCESS: _ClassVar[IngestionStatus]
    INGESTION_STATUS_FAILURE: _ClassVar[IngestionStatus]
    INGESTION_STATUS_ERROR: _ClassVar[IngestionStatus]

class CatalogVersionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CATALOG_VERSION_STATE_UNSPECIFIED: _ClassVar[CatalogVersionState]
    CATALOG_VERSION_STATE_ACTIVE: _ClassVar[CatalogVersionState]
    CATALOG_VERSION_STATE_INACTIVE: _ClassVar[CatalogVersionState]
BATCH_OPERATION_UNSPECIFIED: BatchOperation
BATCH_OPERATION_ADD: BatchOperation
BATCH_OPERATION_MODIFY: BatchOperation
BATCH_OPERATION_DELETE: BatchOperation
INGESTION_STATUS_UNSPECIFIED: IngestionStatus
INGESTION_STATUS_RUNNING: IngestionStatus
INGESTION_STATUS_SUCCESS: IngestionStatus
INGESTION_STATUS_FAILURE: IngestionStatus
INGESTION_STATUS_ERROR: IngestionStatus
CATALOG_VERSION_STATE_UNSPECIFIED: CatalogVersionState
CATALOG_VERSION_STATE_ACTIVE: CatalogVersionState
CATALOG_VERSION_STATE_INACTIVE: CatalogVersionState

class Batch(_message.Message):
    __slots__ = ("id", "created_at", "expires_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateBatchRequest(_message.Message):
    __slots__ = ("tenant", "environment")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    environment: str
    def __init__(self, tenant: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class CreateBatchResponse(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListBatchesRequest(_message.Message):
    __slots__ = ("tenant", "environment")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    environment: str
    def __init__(self, tenant: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class ListBatchesResponse(_message.Message):
    __slots__ = ("batches",)
    BATCHES_FIELD_NUMBER: _ClassVar[int]
    batches: _containers.RepeatedCompositeFieldContainer[Batch]
    def __init__(self, batches: _Optional[_Iterable[_Union[Batch, _Mapping]]] = ...) -> None: ...

class BatchItem(_message.Message):
    __slots__ = ("id", "type", "context", "timestamp", "parent_id", "attributes_json", "malformed", "unknown_keys")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_JSON_FIELD_NUMBER: _ClassVar[int]
    MALFORMED_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_KEYS_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: str
    context: str
    timestamp: str
    parent_id: str
    attributes_json: str
    malformed: str
    unknown_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., context: _Optional[str] = ..., timestamp: _Optional[str] = ..., parent_id: _Optional[str] = ..., attributes_json: _Optional[str] = ..., malformed: _Optional[str] = ..., unknown_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class BatchItemKey(_message.Message):
    __slots__ = ("id", "type", "context")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: str
    context: str
    def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., context: _Optional[str] = ...) -> None: ...

class BatchItemResult(_message.Message):
    __slots__ = ("id", "code", "message", "warnings")
    ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    id: BatchItemKey
    code: int
    message: str
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[_Union[BatchItemKey, _Mapping]] = ..., code: _Optional[int] = ..., message: _Optional[str] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class AddBatchItemsRequest(_message.Message):
    __slots__ = ("tenant", "environment", "batch_id", "items")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    environment: str
    batch_id: str
    items: _containers.RepeatedCompositeFieldContainer[BatchItem]
    def __init__(self, tenant: _Optional[str] = ..., environment: _Optional[str] = ..., batch_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[BatchItem, _Mapping]]] = ...) -> None: ...

class AddBatchItemsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[BatchItemResult]
    def __init__(self, results: _Optional[_Iterable[_Union[BatchItemResult, _Mapping]]] = ...) -> None: ...

class UpdateBatchItemsRequest(_message.Message):
    __slots__ = ("tenant", "environment", "batch_id", "items")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    environment: str
    batch_id: str
    items: _containers.RepeatedCompositeFieldContainer[BatchItem]
    def __init__(self, tenant: _Optional[str] = ..., environment: _Optional[str] = ..., batch_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[BatchItem, _Mapping]]] = ...) -> None: ...

class UpdateBatchItemsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[BatchItemResult]
    def __init__(self, results: _Optional[_Iterable[_Union[BatchItemResult, _Mapping]]] = ...) -> None: ...

class DeleteBatchItemsRequest(_message.Message):
    __slots__ = ("tenant", "environment", "batch_id", "items")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    environment: str
    batch_id: str
    items: _containers.RepeatedCompositeFieldContainer[BatchItem]
    def __init__(self, tenant: _Optional[str] = ..., environment: _Optional[str] = ..., batch_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[BatchItem, _Mapping]]] = ...) -> None: ...

class DeleteBatchItemsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[BatchItemResult]
    def __init__(self, results: _Optional[_Iterable[_Union[BatchItemResult, _Mapping]]] = ...) -> None: ...

class StreamBatchItemsHeader(_message.Message):
    __slots__ = ("tenant", "environment", "batch_id", "operation")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    environment: str
    batch_id: str
    operation: BatchOperation
    def __init__(self, tenant: _Optional[str] = ..., environment: _Optional[str] = ..., batch_id: _Optional[str] = ..., operation: _Optional[_Union[BatchOperation, str]] = ...) -> None: ...

class BatchItemChunk(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[BatchItem]
    def __init__(self, items: _Optional[_Iterable[_Union[BatchItem, _Mapping]]] = ...) -> None: ...

class StreamBatchItemsRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: StreamBatchItemsHeader
    chunk: BatchItemChunk
    def __init__(self, header: _Optional[_Union[StreamBatchItemsHeader, _Mapping]] = ..., chunk: _Optional[_Union[BatchItemChunk, _Mapping]] = ...) -> None: ...

class BatchItemError(_message.Message):
    __slots__ = ("index", "id", "code", "message")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    index: int
    id: BatchItemKey
    code: int
    message: str
    def __init__(self, index: _Optional[int] = ..., id: _Optional[_Union[BatchItemKey, _Mapping]] = ..., code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class StreamBatchItemsResponse(_message.Message):
    __slots__ = ("items_received", "items_accepted", "items_rejected", "errors")
    ITEMS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    ITEMS_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    ITEMS_REJECTED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    items_received: int
    items_accepted: int
    items_rejected: int
    errors: _containers.RepeatedCompositeFieldContainer[BatchItemError]
    def __init__(self, items_received: _Optional[int] = ..., items_accepted: _Optional[int] = ..., items_rejected: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[BatchItemError, _Mapping]]] = ...) -> None: ...

class IngestionConfiguration(_message.Message):
    __slots__ = ("batch_import_id", "catalog_version", "min_item_count", "min_success_rate_percent", "source", "delete_missing_items", "promote_catalog_on_completion")
    BATCH_IMPORT_ID_FIELD_NUMBER: _ClassVar[int]
    CATALOG_VERSION_FIELD_NUMBER: _ClassVar[int]
    MIN_ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    MIN_SUCCESS_RATE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DELETE_MISSING_ITEMS_FIELD_NUMBER: _ClassVar[int]
    PROMOTE_CATALOG_ON_COMPLETION_FIELD_NUMBER: _ClassVar[int]
    batch_import_id: str
    catalog_version: str
    min_item_count: int
    min_success_rate_percent: float
    source: str
    delete_missing_items: bool
    promote_catalog_on_completion: bool
    def __init__(self, batch_import_id: _Optional[str] = ..., catalog_version: _Optional[str] = ..., min_item_count: _Optional[int] = ..., min_success_rate_percent: _Optional[float] = ..., source: _Optional[str] = ..., delete_missing_items: _Optional[bool] = ..., promote_catalog_on_completion: _Optional[bool] = ...) -> None: ...

class ItemErrorSummary(_message.Message):
    __slots__ = ("count", "sample_ids", "sample_message")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_IDS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    count: int
    sample_ids: _containers.RepeatedScalarFieldContainer[str]
    sample_message: str
    def __init__(self, count: _Optional[int] = ..., sample_ids: _Optional[_Iterable[str]] = ..., sample_message: _Optional[str] = ...) -> None: ...

class Ingestion(_message.Message):
    __slots__ = ("id", "status", "status_reason", "item_error_count", "item_errors_summary", "upserted_item_count", "deleted_item_count", "duration", "created_at", "updated_at", "configuration", "environment")
    class ItemErrorsSummaryEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ItemErrorSummary
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ItemErrorSummary, _Mapping]] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    ITEM_ERROR_COUNT_FIELD_NUMBER: _ClassVar[int]
    ITEM_ERRORS_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    UPSERTED_ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    DELETED_ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: IngestionStatus
    status_reason: str
    item_error_count: int
    item_errors_summary: _containers.MessageMap[str, ItemErrorSummary]
    upserted_item_count: int
    deleted_item_count: int
    duration: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    configuration: IngestionConfiguration
    environment: str
    def __init__(self, id: _Optional[str] = ..., status: _Optional[_Union[IngestionStatus, str]] = ..., status_reason: _Optional[str] = ..., item_error_count: _Optional[int] = ..., item_errors_summary: _Optional[_Mapping[str, ItemErrorSummary]] = ..., upserted_item_count: _Optional[int] = ..., deleted_item_count: _Optional[int] = ..., duration: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., configuration: _Optional[_Union[IngestionConfiguration, _Mapping]] = ..., environment: _Optional[str] = ...) -> None: ...

class CreateIngestionRequest(_message.Message):
    __slots__ = ("tenant", "environment", "batch_import_id", "catalog_version", "min_item_count", "min_success_rate_percent", "source", "delete_missing_items", "promote_catalog_on_completion", "validate_only")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    BATCH_IMPORT_ID_FIELD_NUMBER: _ClassVar[int]
    CATALOG_VERSION_FIELD_NUMBER: _ClassVar[int]
    MIN_ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    MIN_SUCCESS_RATE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DELETE_MISSING_ITEMS_FIELD_NUMBER: _ClassVar[int]
    PROMOTE_CATALOG_ON_COMPLETION_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    environment: str
    batch_import_id: str
    catalog_version: str
    min_item_count: int
    min_success_rate_percent: float
    source: str
    delete_missing_items: bool
    promote_catalog_on_completion: bool
    validate_only: bool
    def __init__(self, tenant: _Optional[str] = ..., environment: _Optional[str] = ..., batch_import_id: _Optional[str] = ..., catalog_version: _Optional[str] = ..., min_item_count: _Optional[int] = ..., min_success_rate_percent: _Optional[float] = ..., source: _Optional[str] = ..., delete_missing_items: _Optional[bool] = ..., promote_catalog_on_completion: _Optional[bool] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetIngestionResponse(_message.Message):
    __slots__ = ("ingestion",)
    INGESTION_FIELD_NUMBER: _ClassVar[int]
    ingestion: Ingestion
    def __init__(self, ingestion: _Optional[_Union[Ingestion, _Mapping]] = ...) -> None: ...

class CreateIngestionResponse(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetIngestionRequest(_message.Message):
    __slots__ = ("tenant", "environment", "id")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    environment: str
    id: str
    def __init__(self, tenant: _Optional[str] = ..., environment: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class ListIngestionErrorsRequest(_message.Message):
    __slots__ = ("tenant", "environment", "id", "page_size", "page_token")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    environment: str
    id: str
    page_size: int
    page_token: str
    def __init__(self, tenant: _Optional[str] = ..., environment: _Optional[str] = ..., id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListIngestionErrorsResponse(_message.Message):
    __slots__ = ("errors", "next_page_token", "total_size")
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    errors: _containers.RepeatedCompositeFieldContainer[_task_pb2.TaskError]
    next_page_token: str
    total_size: int
    def __init__(self, errors: _Optional[_Iterable[_Union[_task_pb2.TaskError, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class ListIngestionsRequest(_message.Message):
    __slots__ = ("tenant", "environment", "lookback_duration", "status")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    LOOKBACK_DURATION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    environment: _containers.RepeatedScalarFieldContainer[str]
    lookback_duration: int
    status: IngestionStatus
    def __init__(self, tenant: _Optional[str] = ..., environment: _Optional[_Iterable[str]] = ..., lookback_duration: _Optional[int] = ..., status: _Optional[_Union[IngestionStatus, str]] = ...) -> None: ...

class ListIngestionsResponse(_message.Message):
    __slots__ = ("ingestions",)
    INGESTIONS_FIELD_NUMBER: _ClassVar[int]
    ingestions: _containers.RepeatedCompositeFieldContainer[Ingestion]
    def __init__(self, ingestions: _Optional[_Iterable[_Union[Ingestion, _Mapping]]] = ...) -> None: ...

class DeleteIngestionRequest(_message.Message):
    __slots__ = ("tenant", "environment", "id")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    environment: str
    id: str
    def __init__(self, tenant: _Optional[str] = ..., environment: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class DeleteIngestionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CatalogVersion(_message.Message):
    __slots__ = ("version", "state", "created_at", "activated_at", "item_count", "batch_import_id")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_AT_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    BATCH_IMPORT_ID_FIELD_NUMBER: _ClassVar[int]
    version: str
    state: CatalogVersionState
    created_at: _timestamp_pb2.Timestamp
    activated_at: _timestamp_pb2.Timestamp
    item_count: int
    batch_import_id: str
    def __init__(self, version: _Optional[str] = ..., state: _Optional[_Union[CatalogVersionState, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., activated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., item_count: _Optional[int] = ..., batch_import_id: _Optional[str] = ...) -> None: ...

class CreateCatalogVersionRequest(_message.Message):
    __slots__ = ("tenant", "environment", "create_batch_import")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    CREATE_BATCH_IMPORT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    environment: str
    create_batch_import: bool
    def __init__(self, tenant: _Optional[str] = ..., environment: _Optional[str] = ..., create_batch_import: _Optional[bool] = ...) -> None: ...

class CreateCatalogVersionResponse(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: CatalogVersion
    def __init__(self, version: _Optional[_Union[CatalogVersion, _Mapping]] = ...) -> None: ...

class GetActiveCatalogVersionResponse(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: CatalogVersion
    def __init__(self, version: _Optional[_Union[CatalogVersion, _Mapping]] = ...) -> None: ...

class ActivateCatalogVersionResponse(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: CatalogVersion
    def __init__(self, version: _Optional[_Union[CatalogVersion, _Mapping]] = ...) -> None: ...

class ListCatalogVersionsRequest(_message.Message):
    __slots__ = ("tenant", "environment")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    environment: str
    def __init__(self, tenant: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class ListCatalogVersionsResponse(_message.Message):
    __slots__ = ("versions",)
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[CatalogVersion]
    def __init__(self, versions: _Optional[_Iterable[_Union[CatalogVersion, _Mapping]]] = ...) -> None: ...

class GetActiveCatalogVersionRequest(_message.Message):
    __slots__ = ("tenant", "environment")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    environment: str
    def __init__(self, tenant: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class ActivateCatalogVersionRequest(_message.Message):
    __slots__ = ("tenant", "environment", "version", "min_item_count")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MIN_ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    environment: str
    version: str
    min_item_count: int
    def __init__(self, tenant: _Optional[str] = ..., environment: _Optional[str] = ..., version: _Optional[str] = ..., min_item_count: _Optional[int] = ...) -> None: ...

class DeleteCatalogVersionRequest(_message.Message):
    __slots__ = ("tenant", "environment", "version")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    environment: str
    version: str
    def __init__(self, tenant: _Optional[str] = ..., environment: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class DeleteCatalogVersionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
