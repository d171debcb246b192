import datetime

from catalogingest.v1 import record_pb2 as _record_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RecordOperation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECORD_OPERATION_UNSPECIFIED: _ClassVar[RecordOperation]
    RECORD_OPERATION_CREATE: _ClassVar[RecordOperation]
    RECORD_OPERATION_UPDATE: _ClassVar[RecordOperation]
    RECORD_OPERATION_DELETE: _ClassVar[RecordOperation]
RECORD_OPERATION_UNSPECIFIED: RecordOperation
RECORD_OPERATION_CREATE: RecordOperation
RECORD_OPERATION_UPDATE: RecordOperation
RECORD_OPERATION_DELETE: RecordOperation

class FieldChange(_message.Message):
    __slots__ = ("field", "before_json", "after_json")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    BEFORE_JSON_FIELD_NUMBER: _ClassVar[int]
    AFTER_JSON_FIELD_NUMBER: _ClassVar[int]
    field: str
    before_json: str
    after_json: str
    def __init__(self, field: _Optional[str] = ..., before_json: _Optional[str] = ..., after_json: _Optional[str] = ...) -> None: ...

class RecordChange(_message.Message):
    __slots__ = ("kind", "id", "context", "operation", "change_time", "task_id", "task_type", "request_id", "fields")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    CHANGE_TIME_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    kind: _record_pb2.RecordKind
    id: str
    context: str
    operation: RecordOperation
    change_time: _timestamp_pb2.Timestamp
    task_id: int
    task_type: str
    request_id: str
    fields: _containers.RepeatedCompositeFieldContainer[FieldChange]
    def __init__(self, kind: _Optional[_Union[_record_pb2.RecordKind, str]] = ..., id: _Optional[str] = ..., context: _Optional[str] = ..., operation: _Optional[_Union[RecordOperation, str]] = ..., change_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., task_id: _Optional[int] = ..., task_type: _Optional[str] = ..., request_id: _Optional[str] = ..., fields: _Optional[_Iterable[_Union[FieldChange, _Mapping]]] = ...) -> None: ...
