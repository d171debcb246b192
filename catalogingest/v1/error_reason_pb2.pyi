from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.rpc import code_pb2 as _code_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_REASON_UNSPECIFIED: _ClassVar[ErrorReason]
    ERROR_REASON_INTERNAL: _ClassVar[ErrorReason]
    ERROR_REASON_INVALID_ARGUMENT: _ClassVar[ErrorReason]
    ERROR_REASON_UNAUTHENTICATED: _ClassVar[ErrorReason]
    ERROR_REASON_PERMISSION_DENIED: _ClassVar[ErrorReason]
    ERROR_REASON_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_ALREADY_EXISTS: _ClassVar[ErrorReason]
    ERROR_REASON_FAILED_PRECONDITION: _ClassVar[ErrorReason]
    ERROR_REASON_ABORTED: _ClassVar[ErrorReason]
    ERROR_REASON_DEADLINE_EXCEEDED: _ClassVar[ErrorReason]
    ERROR_REASON_RESOURCE_EXHAUSTED: _ClassVar[ErrorReason]
    ERROR_REASON_UNAVAILABLE: _ClassVar[ErrorReason]
    ERROR_REASON_TASK_FAILED: _ClassVar[ErrorReason]
    ERROR_REASON_INVALID_RECORD: _ClassVar[ErrorReason]
    ERROR_REASON_TOO_MANY_RECORDS: _ClassVar[ErrorReason]
    ERROR_REASON_NO_RECORDS: _ClassVar[ErrorReason]
    ERROR_REASON_TOO_MANY_ITEMS: _ClassVar[ErrorReason]
    ERROR_REASON_PAYLOAD_TOO_LARGE: _ClassVar[ErrorReason]
    ERROR_REASON_NOT_A_LIST: _ClassVar[ErrorReason]
    ERROR_REASON_ITEM_PARSING_ERROR: _ClassVar[ErrorReason]
    ERROR_REASON_UNDECODABLE_REQUEST: _ClassVar[ErrorReason]
    ERROR_REASON_NUL_CHARACTER: _ClassVar[ErrorReason]
    ERROR_REASON_INVALID_PAGE_TOKEN: _ClassVar[ErrorReason]
    ERROR_REASON_INVALID_IDEMPOTENCY_KEY: _ClassVar[ErrorReason]
    ERROR_REASON_IDEMPOTENCY_KEY_REUSED: _ClassVar[ErrorReason]
    ERROR_REASON_STREAM_HEADER_REQUIRED: _ClassVar[ErrorReason]
    ERROR_REASON_STREAM_HEADER_REPEATED: _ClassVar[ErrorReason]
    ERROR_REASON_TENANT_MISMATCH: _ClassVar[ErrorReason]
    ERROR_REASON_RATE_LIMITED: _ClassVar[ErrorReason]
    ERROR_REASON_TOO_MANY_UPLOADS: _ClassVar[ErrorReason]
    ERROR_REASON_MEMORY_BUSY: _ClassVar[ErrorReason]
    ERROR_REASON_UPLOAD_IDLE_TIMEOUT: _ClassVar[ErrorReason]
    ERROR_REASON_UPLOAD_EXPIRED: _ClassVar[ErrorReason]
    ERROR_REASON_UPLOAD_ENDED_EARLY: _ClassVar[ErrorReason]
    ERROR_REASON_BODY_TIMEOUT: _ClassVar[ErrorReason]
    ERROR_REASON_HEADER_TIMEOUT: _ClassVar[ErrorReason]
    ERROR_REASON_DATABASE_UNAVAILABLE: _ClassVar[ErrorReason]
    ERROR_REASON_NO_LIVE_WORKER: _ClassVar[ErrorReason]
    ERROR_REASON_TASK_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_TASK_NOT_CANCELABLE: _ClassVar[ErrorReason]
    ERROR_REASON_PROJECT_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_CATALOG_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_CATALOG_EXISTS: _ClassVar[ErrorReason]
    ERROR_REASON_FIELD_TYPE_CHANGE: _ClassVar[ErrorReason]
    ERROR_REASON_CATALOG_VERSION_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_TOO_FEW_ITEMS: _ClassVar[ErrorReason]
    ERROR_REASON_VERSION_ACTIVE: _ClassVar[ErrorReason]
    ERROR_REASON_BATCH_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_INGESTION_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_INGESTION_RUNNING: _ClassVar[ErrorReason]
    ERROR_REASON_TOKEN_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_INVALID_CSV: _ClassVar[ErrorReason]
    ERROR_REASON_INVALID_NUMBER: _ClassVar[ErrorReason]
    ERROR_REASON_INVALID_CHARACTER: _ClassVar[ErrorReason]
    ERROR_REASON_INVALID_ID: _ClassVar[ErrorReason]
    ERROR_REASON_DUPLICATE_ID: _ClassVar[ErrorReason]
    ERROR_REASON_SAFETY_THRESHOLD: _ClassVar[ErrorReason]
    ERROR_REASON_MISSING_PARENT_ITEM: _ClassVar[ErrorReason]
    ERROR_REASON_MISSING_GROUP: _ClassVar[ErrorReason]
    ERROR_REASON_GROUP_CYCLE: _ClassVar[ErrorReason]
    ERROR_REASON_RECORD_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_NO_ACTIVE_VERSION: _ClassVar[ErrorReason]
    ERROR_REASON_THRESHOLD_NOT_MET: _ClassVar[ErrorReason]
    ERROR_REASON_UNKNOWN_TASK_TYPE: _ClassVar[ErrorReason]
    ERROR_REASON_CANCELED: _ClassVar[ErrorReason]
ERROR_REASON_UNSPECIFIED: ErrorReason
ERROR_REASON_INTERNAL: ErrorReason
ERROR_REASON_INVALID_ARGUMENT: ErrorReason
ERROR_REASON_UNAUTHENTICATED: ErrorReason
ERROR_REASON_PERMISSION_DENIED: ErrorReason
ERROR_REASON_NOT_FOUND: ErrorReason
ERROR_REASON_ALREADY_EXISTS: ErrorReason
ERROR_REASON_FAILED_PRECONDITION: ErrorReason
ERROR_REASON_ABORTED: ErrorReason
ERROR_REASON_DEADLINE_EXCEEDED: ErrorReason
ERROR_REASON_RESOURCE_EXHAUSTED: ErrorReason
ERROR_REASON_UNAVAILABLE: ErrorReason
ERROR_REASON_TASK_FAILED: ErrorReason
ERROR_REASON_INVALID_RECORD: ErrorReason
ERROR_REASON_TOO_MANY_RECORDS: ErrorReason
ERROR_REASON_NO_RECORDS: ErrorReason
ERROR_REASON_TOO_MANY_ITEMS: ErrorReason
ERROR_REASON_PAYLOAD_TOO_LARGE: ErrorReason
ERROR_REASON_NOT_A_LIST: ErrorReason
ERROR_REASON_ITEM_PARSING_ERROR: ErrorReason
ERROR_REASON_UNDECODABLE_REQUEST: ErrorReason
ERROR_REASON_NUL_CHARACTER: ErrorReason
ERROR_REASON_INVALID_PAGE_TOKEN: ErrorReason
ERROR_REASON_INVALID_IDEMPOTENCY_KEY: ErrorReason
ERROR_REASON_IDEMPOTENCY_KEY_REUSED: ErrorReason
ERROR_REASON_STREAM_HEADER_REQUIRED: ErrorReason
ERROR_REASON_STREAM_HEADER_REPEATED: ErrorReason
ERROR_REASON_TENANT_MISMATCH: ErrorReason
ERROR_REASON_RATE_LIMITED: ErrorReason
ERROR_REASON_TOO_MANY_UPLOADS: ErrorReason
ERROR_REASON_MEMORY_BUSY: ErrorReason
ERROR_REASON_UPLOAD_IDLE_TIMEOUT: ErrorReason
ERROR_REASON_UPLOAD_EXPIRED: ErrorReason
ERROR_REASON_UPLOAD_ENDED_EARLY: ErrorReason
ERROR_REASON_BODY_TIMEOUT: ErrorReason
ERROR_REASON_HEADER_TIMEOUT: ErrorReason
ERROR_REASON_DATABASE_UNAVAILABLE: ErrorReason
ERROR_REASON_NO_LIVE_WORKER: ErrorReason
ERROR_REASON_TASK_NOT_FOUND: ErrorReason
ERROR_REASON_TASK_NOT_CANCELABLE: ErrorReason
ERROR_REASON_PROJECT_NOT_FOUND: ErrorReason
ERROR_REASON_CATALOG_NOT_FOUND: ErrorReason
ERROR_REASON_CATALOG_EXISTS: ErrorReason
ERROR_REASON_FIELD_TYPE_CHANGE: ErrorReason
ERROR_REASON_CATALOG_VERSION_NOT_FOUND: ErrorReason
ERROR_REASON_TOO_FEW_ITEMS: ErrorReason
ERROR_REASON_VERSION_ACTIVE: ErrorReason
ERROR_REASON_BATCH_NOT_FOUND: ErrorReason
ERROR_REASON_INGESTION_NOT_FOUND: ErrorReason
ERROR_REASON_INGESTION_RUNNING: ErrorReason
ERROR_REASON_TOKEN_NOT_FOUND: ErrorReason
ERROR_REASON_INVALID_CSV: ErrorReason
ERROR_REASON_INVALID_NUMBER: ErrorReason
ERROR_REASON_INVALID_CHARACTER: ErrorReason
ERROR_REASON_INVALID_ID: ErrorReason
ERROR_REASON_DUPLICATE_ID: ErrorReason
ERROR_REASON_SAFETY_THRESHOLD: ErrorReason
ERROR_REASON_MISSING_PARENT_ITEM: ErrorReason
ERROR_REASON_MISSING_GROUP: ErrorReason
ERROR_REASON_GROUP_CYCLE: ErrorReason
ERROR_REASON_RECORD_NOT_FOUND: ErrorReason
ERROR_REASON_NO_ACTIVE_VERSION: ErrorReason
ERROR_REASON_THRESHOLD_NOT_MET: ErrorReason
ERROR_REASON_UNKNOWN_TASK_TYPE: ErrorReason
ERROR_REASON_CANCELED: ErrorReason
ERROR_REASON_SPEC_FIELD_NUMBER: _ClassVar[int]
error_reason_spec: _descriptor.FieldDescriptor

class ErrorReasonSpec(_message.Message):
    __slots__ = ("codes", "http_statuses", "retryable", "task")
    CODES_FIELD_NUMBER: _ClassVar[int]
    HTTP_STATUSES_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    codes: _containers.RepeatedScalarFieldContainer[_code_pb2.Code]
    http_statuses: _containers.RepeatedScalarFieldContainer[int]
    retryable: bool
    task: bool
    def __init__(self, codes: _Optional[_Iterable[_Union[_code_pb2.Code, str]]] = ..., http_statuses: _Optional[_Iterable[int]] = ..., retryable: _Optional[bool] = ..., task: _Optional[bool] = ...) -> None: ...
