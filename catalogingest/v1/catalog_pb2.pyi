import datetime

from catalogingest.v1 import record_pb2 as _record_pb2
from catalogingest.v1 import record_history_pb2 as _record_history_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WriteMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WRITE_MODE_UNSPECIFIED: _ClassVar[WriteMode]
    WRITE_MODE_REPLACE: _ClassVar[WriteMode]
    WRITE_MODE_UPDATE: _ClassVar[WriteMode]
    WRITE_MODE_DELETE: _ClassVar[WriteMode]

class UploadMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UPLOAD_MODE_UNSPECIFIED: _ClassVar[UploadMode]
    UPLOAD_MODE_SYNC: _ClassVar[UploadMode]
    UPLOAD_MODE_DELTA: _ClassVar[UploadMode]

class OnInvalid(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ON_INVALID_UNSPECIFIED: _ClassVar[OnInvalid]
    ON_INVALID_FAIL: _ClassVar[OnInvalid]
    ON_INVALID_SKIP: _ClassVar[OnInvalid]

class OnMissing(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ON_MISSING_UNSPECIFIED: _ClassVar[OnMissing]
    ON_MISSING_FAIL: _ClassVar[OnMissing]
    ON_MISSING_IGNORE: _ClassVar[OnMissing]
    ON_MISSING_CREATE: _ClassVar[OnMissing]
WRITE_MODE_UNSPECIFIED: WriteMode
WRITE_MODE_REPLACE: WriteMode
WRITE_MODE_UPDATE: WriteMode
WRITE_MODE_DELETE: WriteMode
UPLOAD_MODE_UNSPECIFIED: UploadMode
UPLOAD_MODE_SYNC: UploadMode
UPLOAD_MODE_DELTA: UploadMode
ON_INVALID_UNSPECIFIED: OnInvalid
ON_INVALID_FAIL: OnInvalid
ON_INVALID_SKIP: OnInvalid
ON_MISSING_UNSPECIFIED: OnMissing
ON_MISSING_FAIL: OnMissing
ON_MISSING_IGNORE: OnMissing
ON_MISSING_CREATE: OnMissing

class BatchGetRecordsRequest(_message.Message):
    __slots__ = ("key", "section", "collection", "ids", "context")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    key: str
    section: str
    collection: str
    ids: _containers.RepeatedScalarFieldContainer[str]
    context: str
    def __init__(self, key: _Optional[str] = ..., section: _Optional[str] = ..., collection: _Optional[str] = ..., ids: _Optional[_Iterable[str]] = ..., context: _Optional[str] = ...) -> None: ...

class BatchGetRecordsResponse(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[_record_pb2.Record]
    def __init__(self, records: _Optional[_Iterable[_Union[_record_pb2.Record, _Mapping]]] = ...) -> None: ...

class ListRecordsRequest(_message.Message):
    __slots__ = ("key", "section", "collection", "id", "num_results_per_page", "page", "page_token")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NUM_RESULTS_PER_PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    key: str
    section: str
    collection: str
    id: _containers.RepeatedScalarFieldContainer[str]
    num_results_per_page: int
    page: int
    page_token: str
    def __init__(self, key: _Optional[str] = ..., section: _Optional[str] = ..., collection: _Optional[str] = ..., id: _Optional[_Iterable[str]] = ..., num_results_per_page: _Optional[int] = ..., page: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRecordsResponse(_message.Message):
    __slots__ = ("records", "total_count", "next_page_token")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[_record_pb2.Record]
    total_count: int
    next_page_token: str
    def __init__(self, records: _Optional[_Iterable[_Union[_record_pb2.Record, _Mapping]]] = ..., total_count: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetRecordRequest(_message.Message):
    __slots__ = ("key", "section", "collection", "id", "context", "as_of")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    key: str
    section: str
    collection: str
    id: str
    context: str
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, key: _Optional[str] = ..., section: _Optional[str] = ..., collection: _Optional[str] = ..., id: _Optional[str] = ..., context: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetRecordResponse(_message.Message):
    __slots__ = ("record",)
    RECORD_FIELD_NUMBER: _ClassVar[int]
    record: _record_pb2.Record
    def __init__(self, record: _Optional[_Union[_record_pb2.Record, _Mapping]] = ...) -> None: ...

class ListRecordHistoryRequest(_message.Message):
    __slots__ = ("key", "section", "collection", "id", "context", "num_results_per_page", "page_token")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    NUM_RESULTS_PER_PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    key: str
    section: str
    collection: str
    id: str
    context: str
    num_results_per_page: int
    page_token: str
    def __init__(self, key: _Optional[str] = ..., section: _Optional[str] = ..., collection: _Optional[str] = ..., id: _Optional[str] = ..., context: _Optional[str] = ..., num_results_per_page: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRecordHistoryResponse(_message.Message):
    __slots__ = ("changes", "next_page_token")
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[_record_history_pb2.RecordChange]
    next_page_token: str
    def __init__(self, changes: _Optional[_Iterable[_Union[_record_history_pb2.RecordChange, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReplaceRecordsRequest(_message.Message):
    __slots__ = ("key", "section", "collection", "records", "force", "notification_email", "notification_url", "validate_only", "on_invalid")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_EMAIL_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_URL_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    ON_INVALID_FIELD_NUMBER: _ClassVar[int]
    key: str
    section: str
    collection: str
    records: _containers.RepeatedCompositeFieldContainer[_record_pb2.Record]
    force: bool
    notification_email: str
    notification_url: str
    validate_only: bool
    on_invalid: OnInvalid
    def __init__(self, key: _Optional[str] = ..., section: _Optional[str] = ..., collection: _Optional[str] = ..., records: _Optional[_Iterable[_Union[_record_pb2.Record, _Mapping]]] = ..., force: _Optional[bool] = ..., notification_email: _Optional[str] = ..., notification_url: _Optional[str] = ..., validate_only: _Optional[bool] = ..., on_invalid: _Optional[_Union[OnInvalid, str]] = ...) -> None: ...

class ReplaceRecordsResponse(_message.Message):
    __slots__ = ("task_id", "task_status_path")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_STATUS_PATH_FIELD_NUMBER: _ClassVar[int]
    task_id: int
    task_status_path: str
    def __init__(self, task_id: _Optional[int] = ..., task_status_path: _Optional[str] = ...) -> None: ...

class UpdateRecordsRequest(_message.Message):
    __slots__ = ("key", "section", "collection", "records", "force", "notification_email", "notification_url", "on_missing", "validate_only", "on_invalid")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_EMAIL_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_URL_FIELD_NUMBER: _ClassVar[int]
    ON_MISSING_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    ON_INVALID_FIELD_NUMBER: _ClassVar[int]
    key: str
    section: str
    collection: str
    records: _containers.RepeatedCompositeFieldContainer[_record_pb2.Record]
    force: bool
    notification_email: str
    notification_url: str
    on_missing: OnMissing
    validate_only: bool
    on_invalid: OnInvalid
    def __init__(self, key: _Optional[str] = ..., section: _Optional[str] = ..., collection: _Optional[str] = ..., records: _Optional[_Iterable[_Union[_record_pb2.Record, _Mapping]]] = ..., force: _Optional[bool] = ..., notification_email: _Optional[str] = ..., notification_url: _Optional[str] = ..., on_missing: _Optional[_Union[OnMissing, str]] = ..., validate_only: _Optional[bool] = ..., on_invalid: _Optional[_Union[OnInvalid, str]] = ...) -> None: ...

class UpdateRecordsResponse(_message.Message):
    __slots__ = ("task_id", "task_status_path")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_STATUS_PATH_FIELD_NUMBER: _ClassVar[int]
    task_id: int
    task_status_path: str
    def __init__(self, task_id: _Optional[int] = ..., task_status_path: _Optional[str] = ...) -> None: ...

class DeleteRecordsRequest(_message.Message):
    __slots__ = ("key", "section", "collection", "records", "force", "notification_email", "notification_url", "validate_only")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_EMAIL_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_URL_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    key: str
    section: str
    collection: str
    records: _containers.RepeatedCompositeFieldContainer[_record_pb2.Record]
    force: bool
    notification_email: str
    notification_url: str
    validate_only: bool
    def __init__(self, key: _Optional[str] = ..., section: _Optional[str] = ..., collection: _Optional[str] = ..., records: _Optional[_Iterable[_Union[_record_pb2.Record, _Mapping]]] = ..., force: _Optional[bool] = ..., notification_email: _Optional[str] = ..., notification_url: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class DeleteRecordsResponse(_message.Message):
    __slots__ = ("task_id", "task_status_path")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_STATUS_PATH_FIELD_NUMBER: _ClassVar[int]
    task_id: int
    task_status_path: str
    def __init__(self, task_id: _Optional[int] = ..., task_status_path: _Optional[str] = ...) -> None: ...

class ReplaceRecordRequest(_message.Message):
    __slots__ = ("key", "section", "collection", "id", "context", "record")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    key: str
    section: str
    collection: str
    id: str
    context: str
    record: _record_pb2.Record
    def __init__(self, key: _Optional[str] = ..., section: _Optional[str] = ..., collection: _Optional[str] = ..., id: _Optional[str] = ..., context: _Optional[str] = ..., record: _Optional[_Union[_record_pb2.Record, _Mapping]] = ...) -> None: ...

class ReplaceRecordResponse(_message.Message):
    __slots__ = ("record", "task_id", "task_status_path")
    RECORD_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_STATUS_PATH_FIELD_NUMBER: _ClassVar[int]
    record: _record_pb2.Record
    task_id: int
    task_status_path: str
    def __init__(self, record: _Optional[_Union[_record_pb2.Record, _Mapping]] = ..., task_id: _Optional[int] = ..., task_status_path: _Optional[str] = ...) -> None: ...

class UpdateRecordRequest(_message.Message):
    __slots__ = ("key", "section", "collection", "id", "context", "record", "on_missing")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    ON_MISSING_FIELD_NUMBER: _ClassVar[int]
    key: str
    section: str
    collection: str
    id: str
    context: str
    record: _record_pb2.Record
    on_missing: OnMissing
    def __init__(self, key: _Optional[str] = ..., section: _Optional[str] = ..., collection: _Optional[str] = ..., id: _Optional[str] = ..., context: _Optional[str] = ..., record: _Optional[_Union[_record_pb2.Record, _Mapping]] = ..., on_missing: _Optional[_Union[OnMissing, str]] = ...) -> None: ...

class UpdateRecordResponse(_message.Message):
    __slots__ = ("record", "task_id", "task_status_path")
    RECORD_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_STATUS_PATH_FIELD_NUMBER: _ClassVar[int]
    record: _record_pb2.Record
    task_id: int
    task_status_path: str
    def __init__(self, record: _Optional[_Union[_record_pb2.Record, _Mapping]] = ..., task_id: _Optional[int] = ..., task_status_path: _Optional[str] = ...) -> None: ...

class DeleteRecordRequest(_message.Message):
    __slots__ = ("key", "section", "collection", "id", "context", "expected_version")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    key: str
    section: str
    collection: str
    id: str
    context: str
    expected_version: int
    def __init__(self, key: _Optional[str] = ..., section: _Optional[str] = ..., collection: _Optional[str] = ..., id: _Optional[str] = ..., context: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class DeleteRecordResponse(_message.Message):
    __slots__ = ("task_id", "task_status_path")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_STATUS_PATH_FIELD_NUMBER: _ClassVar[int]
    task_id: int
    task_status_path: str
    def __init__(self, task_id: _Optional[int] = ..., task_status_path: _Optional[str] = ...) -> None: ...

class StreamRecordsHeader(_message.Message):
    __slots__ = ("key", "section", "collection", "mode", "on_missing", "force", "notification_email", "notification_url", "validate_only", "on_invalid")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    ON_MISSING_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_EMAIL_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_URL_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    ON_INVALID_FIELD_NUMBER: _ClassVar[int]
    key: str
    section: str
    collection: str
    mode: WriteMode
    on_missing: OnMissing
    force: bool
    notification_email: str
    notification_url: str
    validate_only: bool
    on_invalid: OnInvalid
    def __init__(self, key: _Optional[str] = ..., section: _Optional[str] = ..., collection: _Optional[str] = ..., mode: _Optional[_Union[WriteMode, str]] = ..., on_missing: _Optional[_Union[OnMissing, str]] = ..., force: _Optional[bool] = ..., notification_email: _Optional[str] = ..., notification_url: _Optional[str] = ..., validate_only: _Optional[bool] = ..., on_invalid: _Optional[_Union[OnInvalid, str]] = ...) -> None: ...

class StreamRecordsRequest(_message.Message):
    __slots__ = ("header", "batch")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    header: StreamRecordsHeader
    batch: _record_pb2.RecordBatch
    def __init__(self, header: _Optional[_Union[StreamRecordsHeader, _Mapping]] = ..., batch: _Optional[_Union[_record_pb2.RecordBatch, _Mapping]] = ...) -> None: ...

class StreamRecordsResponse(_message.Message):
    __slots__ = ("task_id", "task_status_path", "records_received")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_STATUS_PATH_FIELD_NUMBER: _ClassVar[int]
    RECORDS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    task_id: int
    task_status_path: str
    records_received: int
    def __init__(self, task_id: _Optional[int] = ..., task_status_path: _Optional[str] = ..., records_received: _Optional[int] = ...) -> None: ...

class UploadCatalogHeader(_message.Message):
    __slots__ = ("key", "section", "mode", "patch_delta", "force", "notification_email", "notification_url", "files", "validate_only", "on_invalid")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    PATCH_DELTA_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_EMAIL_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_URL_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    ON_INVALID_FIELD_NUMBER: _ClassVar[int]
    key: str
    section: str
    mode: UploadMode
    patch_delta: bool
    force: bool
    notification_email: str
    notification_url: str
    files: _containers.RepeatedScalarFieldContainer[_record_pb2.RecordKind]
    validate_only: bool
    on_invalid: OnInvalid
    def __init__(self, key: _Optional[str] = ..., section: _Optional[str] = ..., mode: _Optional[_Union[UploadMode, str]] = ..., patch_delta: _Optional[bool] = ..., force: _Optional[bool] = ..., notification_email: _Optional[str] = ..., notification_url: _Optional[str] = ..., files: _Optional[_Iterable[_Union[_record_pb2.RecordKind, str]]] = ..., validate_only: _Optional[bool] = ..., on_invalid: _Optional[_Union[OnInvalid, str]] = ...) -> None: ...

class FileChunk(_message.Message):
    __slots__ = ("file", "data")
    FILE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    file: _record_pb2.RecordKind
    data: bytes
    def __init__(self, file: _Optional[_Union[_record_pb2.RecordKind, str]] = ..., data: _Optional[bytes] = ...) -> None: ...

class UploadCatalogRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: UploadCatalogHeader
    chunk: FileChunk
    def __init__(self, header: _Optional[_Union[UploadCatalogHeader, _Mapping]] = ..., chunk: _Optional[_Union[FileChunk, _Mapping]] = ...) -> None: ...

class UploadCatalogResponse(_message.Message):
    __slots__ = ("task_id", "task_status_path")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_STATUS_PATH_FIELD_NUMBER: _ClassVar[int]
    task_id: int
    task_status_path: str
    def __init__(self, task_id: _Optional[int] = ..., task_status_path: _Optional[str] = ...) -> None: ...

class CatalogField(_message.Message):
    __slots__ = ("name", "type", "searchable", "required")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SEARCHABLE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    searchable: bool
    required: bool
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., searchable: _Optional[bool] = ..., required: _Optional[bool] = ...) -> None: ...

class CatalogDefinition(_message.Message):
    __slots__ = ("id", "name", "fields", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    fields: _containers.RepeatedCompositeFieldContainer[CatalogField]
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., fields: _Optional[_Iterable[_Union[CatalogField, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateCatalogDefinitionRequest(_message.Message):
    __slots__ = ("project_id", "catalog")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    CATALOG_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    catalog: CatalogDefinition
    def __init__(self, project_id: _Optional[str] = ..., catalog: _Optional[_Union[CatalogDefinition, _Mapping]] = ...) -> None: ...

class CreateCatalogDefinitionResponse(_message.Message):
    __slots__ = ("catalog",)
    CATALOG_FIELD_NUMBER: _ClassVar[int]
    catalog: CatalogDefinition
    def __init__(self, catalog: _Optional[_Union[CatalogDefinition, _Mapping]] = ...) -> None: ...

class GetCatalogDefinitionRequest(_message.Message):
    __slots__ = ("project_id", "catalog_id")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    CATALOG_ID_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    catalog_id: str
    def __init__(self, project_id: _Optional[str] = ..., catalog_id: _Optional[str] = ...) -> None: ...

class GetCatalogDefinitionResponse(_message.Message):
    __slots__ = ("catalog",)
    CATALOG_FIELD_NUMBER: _ClassVar[int]
    catalog: CatalogDefinition
    def __init__(self, catalog: _Optional[_Union[CatalogDefinition, _Mapping]] = ...) -> None: ...

class ListCatalogDefinitionsRequest(_message.Message):
    __slots__ = ("project_id", "page_size", "page_token")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    page_size: int
    page_token: str
    def __init__(self, project_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCatalogDefinitionsResponse(_message.Message):
    __slots__ = ("catalogs", "next_page_token")
    CATALOGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    catalogs: _containers.RepeatedCompositeFieldContainer[CatalogDefinition]
    next_page_token: str
    def __init__(self, catalogs: _Optional[_Iterable[_Union[CatalogDefinition, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AddCatalogFieldsRequest(_message.Message):
    __slots__ = ("project_id", "catalog_id", "fields")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    CATALOG_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    catalog_id: str
    fields: _containers.RepeatedCompositeFieldContainer[CatalogField]
    def __init__(self, project_id: _Optional[str] = ..., catalog_id: _Optional[str] = ..., fields: _Optional[_Iterable[_Union[CatalogField, _Mapping]]] = ...) -> None: ...

class AddCatalogFieldsResponse(_message.Message):
    __slots__ = ("catalog",)
    CATALOG_FIELD_NUMBER: _ClassVar[int]
    catalog: CatalogDefinition
    def __init__(self, catalog: _Optional[_Union[CatalogDefinition, _Mapping]] = ...) -> None: ...

class CatalogItem(_message.Message):
    __slots__ = ("item_id", "properties_json", "structure_violations", "expected_version")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_JSON_FIELD_NUMBER: _ClassVar[int]
    STRUCTURE_VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    properties_json: str
    structure_violations: _containers.RepeatedCompositeFieldContainer[CatalogItemViolation]
    expected_version: int
    def __init__(self, item_id: _Optional[str] = ..., properties_json: _Optional[str] = ..., structure_violations: _Optional[_Iterable[_Union[CatalogItemViolation, _Mapping]]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class CatalogItemViolation(_message.Message):
    __slots__ = ("field", "description")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    field: str
    description: str
    def __init__(self, field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class CatalogItemResult(_message.Message):
    __slots__ = ("success", "queued", "errors")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    success: bool
    queued: bool
    errors: _containers.RepeatedCompositeFieldContainer[CatalogItemViolation]
    def __init__(self, success: _Optional[bool] = ..., queued: _Optional[bool] = ..., errors: _Optional[_Iterable[_Union[CatalogItemViolation, _Mapping]]] = ...) -> None: ...

class BulkReplaceCatalogItemsRequest(_message.Message):
    __slots__ = ("project_id", "catalog_id", "items", "validate_only")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    CATALOG_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    catalog_id: str
    items: _containers.RepeatedCompositeFieldContainer[CatalogItem]
    validate_only: bool
    def __init__(self, project_id: _Optional[str] = ..., catalog_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[CatalogItem, _Mapping]]] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class BulkReplaceCatalogItemsResponse(_message.Message):
    __slots__ = ("results", "task_id", "task_status_path")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_STATUS_PATH_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CatalogItemResult]
    task_id: int
    task_status_path: str
    def __init__(self, results: _Optional[_Iterable[_Union[CatalogItemResult, _Mapping]]] = ..., task_id: _Optional[int] = ..., task_status_path: _Optional[str] = ...) -> None: ...

class BulkUpdateCatalogItemsRequest(_message.Message):
    __slots__ = ("project_id", "catalog_id", "items", "upsert", "validate_only")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    CATALOG_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    UPSERT_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    catalog_id: str
    items: _containers.RepeatedCompositeFieldContainer[CatalogItem]
    upsert: bool
    validate_only: bool
    def __init__(self, project_id: _Optional[str] = ..., catalog_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[CatalogItem, _Mapping]]] = ..., upsert: _Optional[bool] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class BulkUpdateCatalogItemsResponse(_message.Message):
    __slots__ = ("results", "task_id", "task_status_path")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_STATUS_PATH_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CatalogItemResult]
    task_id: int
    task_status_path: str
    def __init__(self, results: _Optional[_Iterable[_Union[CatalogItemResult, _Mapping]]] = ..., task_id: _Optional[int] = ..., task_status_path: _Optional[str] = ...) -> None: ...
