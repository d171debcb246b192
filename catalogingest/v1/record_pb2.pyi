import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RecordKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECORD_KIND_UNSPECIFIED: _ClassVar[RecordKind]
    RECORD_KIND_ITEM: _ClassVar[RecordKind]
    RECORD_KIND_VARIATION: _ClassVar[RecordKind]
    RECORD_KIND_ITEM_GROUP: _ClassVar[RecordKind]
RECORD_KIND_UNSPECIFIED: RecordKind
RECORD_KIND_ITEM: RecordKind
RECORD_KIND_VARIATION: RecordKind
RECORD_KIND_ITEM_GROUP: RecordKind

class Record(_message.Message):
    __slots__ = ("kind", "id", "context", "name", "suggested_score", "item_id", "parent_ids", "data_json", "timestamp", "version", "update_time", "expected_version")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_SCORE_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_IDS_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    kind: RecordKind
    id: str
    context: str
    name: str
    suggested_score: float
    item_id: str
    parent_ids: _containers.RepeatedScalarFieldContainer[str]
    data_json: str
    timestamp: _timestamp_pb2.Timestamp
    version: int
    update_time: _timestamp_pb2.Timestamp
    expected_version: int
    def __init__(self, kind: _Optional[_Union[RecordKind, str]] = ..., id: _Optional[str] = ..., context: _Optional[str] = ..., name: _Optional[str] = ..., suggested_score: _Optional[float] = ..., item_id: _Optional[str] = ..., parent_ids: _Optional[_Iterable[str]] = ..., data_json: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class RecordBatch(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[Record]
    def __init__(self, records: _Optional[_Iterable[_Union[Record, _Mapping]]] = ...) -> None: ...
