import datetime

from catalogingest.v1 import record_history_pb2 as _record_history_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_STATUS_UNSPECIFIED: _ClassVar[TaskStatus]
    TASK_STATUS_QUEUED: _ClassVar[TaskStatus]
    TASK_STATUS_IN_PROGRESS: _ClassVar[TaskStatus]
    TASK_STATUS_DONE: _ClassVar[TaskStatus]
    TASK_STATUS_FAILED: _ClassVar[TaskStatus]
    TASK_STATUS_CANCELED: _ClassVar[TaskStatus]
TASK_STATUS_UNSPECIFIED: TaskStatus
TASK_STATUS_QUEUED: TaskStatus
TASK_STATUS_IN_PROGRESS: TaskStatus
TASK_STATUS_DONE: TaskStatus
TASK_STATUS_FAILED: TaskStatus
TASK_STATUS_CANCELED: TaskStatus

class RecordCounts(_message.Message):
    __slots__ = ("created", "updated", "deleted", "unchanged", "rejected")
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    created: int
    updated: int
    deleted: int
    unchanged: int
    rejected: int
    def __init__(self, created: _Optional[int] = ..., updated: _Optional[int] = ..., deleted: _Optional[int] = ..., unchanged: _Optional[int] = ..., rejected: _Optional[int] = ...) -> None: ...

class TaskResult(_message.Message):
    __slots__ = ("items", "variations", "item_groups", "skipped_record_ids", "ingestion_id", "version_conflicts", "preview")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    VARIATIONS_FIELD_NUMBER: _ClassVar[int]
    ITEM_GROUPS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_RECORD_IDS_FIELD_NUMBER: _ClassVar[int]
    INGESTION_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    items: RecordCounts
    variations: RecordCounts
    item_groups: RecordCounts
    skipped_record_ids: _containers.RepeatedScalarFieldContainer[str]
    ingestion_id: str
    version_conflicts: _containers.RepeatedCompositeFieldContainer[VersionConflict]
    preview: TaskPreview
    def __init__(self, items: _Optional[_Union[RecordCounts, _Mapping]] = ..., variations: _Optional[_Union[RecordCounts, _Mapping]] = ..., item_groups: _Optional[_Union[RecordCounts, _Mapping]] = ..., skipped_record_ids: _Optional[_Iterable[str]] = ..., ingestion_id: _Optional[str] = ..., version_conflicts: _Optional[_Iterable[_Union[VersionConflict, _Mapping]]] = ..., preview: _Optional[_Union[TaskPreview, _Mapping]] = ...) -> None: ...

class PreviewedUpdate(_message.Message):
    __slots__ = ("id", "context", "changed_fields", "before", "after")
    ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    id: str
    context: str
    changed_fields: _containers.RepeatedScalarFieldContainer[str]
    before: _struct_pb2.Struct
    after: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., context: _Optional[str] = ..., changed_fields: _Optional[_Iterable[str]] = ..., before: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., after: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class KindPreview(_message.Message):
    __slots__ = ("counts", "created_ids", "deleted_ids", "updated")
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_IDS_FIELD_NUMBER: _ClassVar[int]
    DELETED_IDS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    counts: RecordCounts
    created_ids: _containers.RepeatedScalarFieldContainer[str]
    deleted_ids: _containers.RepeatedScalarFieldContainer[str]
    updated: _containers.RepeatedCompositeFieldContainer[PreviewedUpdate]
    def __init__(self, counts: _Optional[_Union[RecordCounts, _Mapping]] = ..., created_ids: _Optional[_Iterable[str]] = ..., deleted_ids: _Optional[_Iterable[str]] = ..., updated: _Optional[_Iterable[_Union[PreviewedUpdate, _Mapping]]] = ...) -> None: ...

class TaskPreview(_message.Message):
    __slots__ = ("items", "variations", "item_groups", "would_fail", "guard_would_stop", "errors")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    VARIATIONS_FIELD_NUMBER: _ClassVar[int]
    ITEM_GROUPS_FIELD_NUMBER: _ClassVar[int]
    WOULD_FAIL_FIELD_NUMBER: _ClassVar[int]
    GUARD_WOULD_STOP_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    items: KindPreview
    variations: KindPreview
    item_groups: KindPreview
    would_fail: bool
    guard_would_stop: bool
    errors: _containers.RepeatedCompositeFieldContainer[TaskError]
    def __init__(self, items: _Optional[_Union[KindPreview, _Mapping]] = ..., variations: _Optional[_Union[KindPreview, _Mapping]] = ..., item_groups: _Optional[_Union[KindPreview, _Mapping]] = ..., would_fail: _Optional[bool] = ..., guard_would_stop: _Optional[bool] = ..., errors: _Optional[_Iterable[_Union[TaskError, _Mapping]]] = ...) -> None: ...

class TaskError(_message.Message):
    __slots__ = ("reason", "message", "file", "row", "column", "record_id", "record", "version_conflicts")
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    ROW_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    VERSION_CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    reason: str
    message: str
    file: str
    row: int
    column: str
    record_id: str
    record: _struct_pb2.Value
    version_conflicts: _containers.RepeatedCompositeFieldContainer[VersionConflict]
    def __init__(self, reason: _Optional[str] = ..., message: _Optional[str] = ..., file: _Optional[str] = ..., row: _Optional[int] = ..., column: _Optional[str] = ..., record_id: _Optional[str] = ..., record: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., version_conflicts: _Optional[_Iterable[_Union[VersionConflict, _Mapping]]] = ...) -> None: ...

class VersionConflict(_message.Message):
    __slots__ = ("record_id", "context", "expected_version", "current_version")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    CURRENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    context: str
    expected_version: int
    current_version: int
    def __init__(self, record_id: _Optional[str] = ..., context: _Optional[str] = ..., expected_version: _Optional[int] = ..., current_version: _Optional[int] = ...) -> None: ...

class TaskProgress(_message.Message):
    __slots__ = ("records_seen", "records_applied", "records_total", "bytes_total")
    RECORDS_SEEN_FIELD_NUMBER: _ClassVar[int]
    RECORDS_APPLIED_FIELD_NUMBER: _ClassVar[int]
    RECORDS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BYTES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    records_seen: int
    records_applied: int
    records_total: int
    bytes_total: int
    def __init__(self, records_seen: _Optional[int] = ..., records_applied: _Optional[int] = ..., records_total: _Optional[int] = ..., bytes_total: _Optional[int] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("id", "type", "status", "section", "submission_time", "start_time", "finish_time", "last_update", "progress", "result", "error", "attempts", "retry_of", "error_count")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    SUBMISSION_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_UPDATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    RETRY_OF_FIELD_NUMBER: _ClassVar[int]
    ERROR_COUNT_FIELD_NUMBER: _ClassVar[int]
    id: int
    type: str
    status: TaskStatus
    section: str
    submission_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    finish_time: _timestamp_pb2.Timestamp
    last_update: _timestamp_pb2.Timestamp
    progress: TaskProgress
    result: TaskResult
    error: TaskError
    attempts: int
    retry_of: int
    error_count: int
    def __init__(self, id: _Optional[int] = ..., type: _Optional[str] = ..., status: _Optional[_Union[TaskStatus, str]] = ..., section: _Optional[str] = ..., submission_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_update: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., progress: _Optional[_Union[TaskProgress, _Mapping]] = ..., result: _Optional[_Union[TaskResult, _Mapping]] = ..., error: _Optional[_Union[TaskError, _Mapping]] = ..., attempts: _Optional[int] = ..., retry_of: _Optional[int] = ..., error_count: _Optional[int] = ...) -> None: ...

class GetTaskRequest(_message.Message):
    __slots__ = ("id", "key")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    id: int
    key: str
    def __init__(self, id: _Optional[int] = ..., key: _Optional[str] = ...) -> None: ...

class GetTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: Task
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class ListTaskChangesRequest(_message.Message):
    __slots__ = ("id", "key", "num_results_per_page", "page_token")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    NUM_RESULTS_PER_PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    id: int
    key: str
    num_results_per_page: int
    page_token: str
    def __init__(self, id: _Optional[int] = ..., key: _Optional[str] = ..., num_results_per_page: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTaskChangesResponse(_message.Message):
    __slots__ = ("changes", "next_page_token")
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[_record_history_pb2.RecordChange]
    next_page_token: str
    def __init__(self, changes: _Optional[_Iterable[_Union[_record_history_pb2.RecordChange, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ("key", "section", "status", "type", "submitted_after", "submitted_before", "num_results_per_page", "page", "page_token")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AFTER_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    NUM_RESULTS_PER_PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    key: str
    section: str
    status: TaskStatus
    type: str
    submitted_after: _timestamp_pb2.Timestamp
    submitted_before: _timestamp_pb2.Timestamp
    num_results_per_page: int
    page: int
    page_token: str
    def __init__(self, key: _Optional[str] = ..., section: _Optional[str] = ..., status: _Optional[_Union[TaskStatus, str]] = ..., type: _Optional[str] = ..., submitted_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., submitted_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., num_results_per_page: _Optional[int] = ..., page: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("tasks", "total_count", "status_counts", "next_page_token")
    class StatusCountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    TASKS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    STATUS_COUNTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[Task]
    total_count: int
    status_counts: _containers.ScalarMap[str, int]
    next_page_token: str
    def __init__(self, tasks: _Optional[_Iterable[_Union[Task, _Mapping]]] = ..., total_count: _Optional[int] = ..., status_counts: _Optional[_Mapping[str, int]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelTaskRequest(_message.Message):
    __slots__ = ("id", "key")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    id: int
    key: str
    def __init__(self, id: _Optional[int] = ..., key: _Optional[str] = ...) -> None: ...

class CancelTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: Task
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class RetryTaskRequest(_message.Message):
    __slots__ = ("id", "key", "force", "validate_only", "on_invalid")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    ON_INVALID_FIELD_NUMBER: _ClassVar[int]
    id: int
    key: str
    force: bool
    validate_only: bool
    on_invalid: str
    def __init__(self, id: _Optional[int] = ..., key: _Optional[str] = ..., force: _Optional[bool] = ..., validate_only: _Optional[bool] = ..., on_invalid: _Optional[str] = ...) -> None: ...

class RetryTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: Task
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class ListTaskErrorsRequest(_message.Message):
    __slots__ = ("id", "key", "page_size", "page_token")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    id: int
    key: str
    page_size: int
    page_token: str
    def __init__(self, id: _Optional[int] = ..., key: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTaskErrorsResponse(_message.Message):
    __slots__ = ("errors", "next_page_token", "total_size")
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    errors: _containers.RepeatedCompositeFieldContainer[TaskError]
    next_page_token: str
    total_size: int
    def __init__(self, errors: _Optional[_Iterable[_Union[TaskError, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class WatchTaskRequest(_message.Message):
    __slots__ = ("id", "key")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    id: int
    key: str
    def __init__(self, id: _Optional[int] = ..., key: _Optional[str] = ...) -> None: ...

class WatchTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: Task
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class GetIngestionStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetIngestionStatusResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: str
    def __init__(self, message: _Optional[str] = ...) -> None: ...
