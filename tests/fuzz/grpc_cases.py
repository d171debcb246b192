"""Strategies for every RPC of the three services: a valid request per RPC with 0-2 of its fields (found from
the message descriptors, into repeated elements) given hostile values of their type; client streams with
missing, repeated or hostile parts and cancelled midway; undecodable bytes over a real channel."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

from catalogingest.v1 import batch_pb2, catalog_pb2, record_pb2, task_pb2
from tests.fuzz.conftest import LIMITS, TYPED_FIELDS, Seed
from tests.fuzz.oracle import GrpcCase, Snapshot
from tests.fuzz.readback import same, show
from tests.fuzz.values import DEPTHS, NASTY_TEXT, breaks_id_rule, dumps, json_objects, nested, page_tokens

C, T, B = "catalogingest.v1.CatalogService", "catalogingest.v1.TaskService", "catalogingest.v1.BatchService"
STREAMS = {"StreamRecords", "UploadCatalog", "StreamBatchItems"}
# Problem words a status may use when the whole request is at fault.
REQUEST_WORDS = ("request", "message", "decode", "parse", "header", "stream", "invalid", "malformed")

# Proto strings must be valid UTF-8; invalid bytes go through the raw-bytes cases instead.
proto_text = st.one_of(
    st.sampled_from([t for t in NASTY_TEXT if not any(0xD800 <= ord(c) <= 0xDFFF for c in t)]),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20),
)
json_text = st.one_of(
    json_objects.map(lambda v: dumps(v).decode("utf-8", "replace")),
    st.builds(lambda d: dumps(nested(d)).decode(), st.sampled_from(DEPTHS)),
    st.sampled_from(["", "{", "[]", "null", "1e400", '{"a":1,"a":2}', "NaN", '{"k": 18446744073709551616}']),
)
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: 31,
    FieldDescriptor.TYPE_INT64: 63,
    FieldDescriptor.TYPE_SINT32: 31,
    FieldDescriptor.TYPE_SINT64: 63,
}


def hostile_for(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.name.endswith("_json"):
        return json_text
    if field.name == "page_token":
        return page_tokens.filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t))
    if field.type == FieldDescriptor.TYPE_STRING:
        return proto_text
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type == FieldDescriptor.TYPE_ENUM:
        return st.integers(-3, 12)
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.one_of(st.floats(), st.sampled_from([1e308, -1e308, 5e-324, 2.0**63, 2.0**64, 1e20]))
    bits = _INT_RANGES.get(field.type, 63)
    edge = [0, -1, 1, 2**bits - 1, -(2**bits)]
    return st.one_of(st.sampled_from(edge), st.integers(-(2**bits), 2**bits - 1))


def _paths(message: Message, prefix: str = "") -> list[tuple[str, Message, FieldDescriptor, int | None]]:
    """Every scalar field of the message and of its set sub-messages and list elements: (path, owner, field, index)."""
    out = []
    for field in message.DESCRIPTOR.fields:
        path = prefix + field.name
        repeated = field.is_repeated
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry:
                continue
            if repeated:
                for i, element in enumerate(getattr(message, field.name)):
                    out += _paths(element, f"{path}[{i}].")
            elif field.message_type.full_name == "google.protobuf.Timestamp" or message.HasField(field.name):
                out += _paths(getattr(message, field.name), path + ".")
        elif repeated:
            out.append((path, message, field, len(getattr(message, field.name))))
        else:
            out.append((path, message, field, None))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: Message) -> tuple[Message, list[str]]:
    """`base` with 0-2 of its fields given hostile values; the field paths and names an error may use."""
    message = type(base)()
    message.CopyFrom(base)
    paths = _paths(message)
    names: list[str] = []
    chosen = draw(st.lists(st.sampled_from(paths), max_size=2, unique_by=lambda p: p[0])) if paths else []
    for path, owner, field, index in chosen:
        value = draw(hostile_for(field))
        try:
            if index is None:
                setattr(owner, field.name, value)
            else:
                getattr(owner, field.name).append(value)
        except (ValueError, TypeError):
            continue
        top = path.split(".")[0].split("[")[0]
        names += [path, field.name, top, field.name.removesuffix("_json")]
    return message, names


def _metadata(stack: Any) -> Any:
    return stack.metadata()


def unary(service: str, method: str, response: Any) -> Callable[[Any, Message], Any]:
    async def call(stack: Any, request: Message) -> Any:
        multi = stack.channel.unary_unary(
            f"/{service}/{method}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response.FromString,
        )
        return await multi(request, metadata=_metadata(stack), timeout=30)

    return call


# --- verify: read back what an accepted write stored -------------------------------------------------------


def _verify_records(mode: str, request: Any) -> Any:
    async def verify(stack: Any, answer: Any, before: Snapshot, after: Snapshot) -> list[str]:
        problems = []
        if mode != "DELETE":
            for r in request.records:
                if breaks_id_rule(r.id) or "\\u0000" in r.data_json or "\x00" in r.name + r.context + r.item_id:
                    problems.append(f"accepted record {r.id!r} whose id breaks R1 or that holds a NUL (R5)")
        kinds = {r.kind for r in request.records}
        for context in {r.context for r in request.records}:
            got = await stack.catalog.BatchGetRecords(
                catalog_pb2.BatchGetRecordsRequest(
                    section=request.section or "Products",
                    collection=request.collection,
                    ids=[r.id for r in request.records if r.context == context],
                    context=context,
                ),
                metadata=stack.metadata(),
            )
            stored = {r.id: r for r in got.records}
            for sent in request.records:
                if sent.context != context or sent.kind not in kinds:
                    continue
                found = stored.get(sent.id)
                if mode == "DELETE":
                    if found is not None:
                        problems.append(f"{sent.id!r} still stored after delete")
                    continue
                if found is None:
                    if mode == "REPLACE":
                        problems.append(f"{sent.id!r} not stored")
                    continue
                if sent.HasField("timestamp"):
                    continue
                if mode == "REPLACE" or sent.HasField("name"):
                    if found.HasField("name") != sent.HasField("name") or found.name != sent.name:
                        problems.append(f"{sent.id!r}.name: sent {sent.name!r}, read back {found.name!r}")
                if (mode == "REPLACE" or sent.HasField("suggested_score")) and not same(
                    sent.suggested_score if sent.HasField("suggested_score") else None,
                    found.suggested_score if found.HasField("suggested_score") else None,
                ):
                    problems.append(
                        f"{sent.id!r}.suggested_score: sent {sent.suggested_score}, got {found.suggested_score}"
                    )
                sent_data = json.loads(sent.data_json) if sent.data_json else {}
                got_data = json.loads(found.data_json) if found.data_json else {}
                if mode == "REPLACE" and not same(sent_data, got_data):
                    problems.append(f"{sent.id!r}.data: sent {show(sent_data)}, read back {show(got_data)}")
                if mode == "UPDATE":
                    for k, v in sent_data.items():
                        if v is not None and not same(v, got_data.get(k)):
                            problems.append(f"{sent.id!r}.data.{k}: sent {show(v)}, read back {show(got_data.get(k))}")
        return problems

    return verify


def _verify_bulk(partial: bool, request: Any) -> Any:
    async def verify(stack: Any, answer: Any, before: Snapshot, after: Snapshot) -> list[str] | None:
        accepted = [item for item, r in zip(request.items, answer.results, strict=True) if r.success]
        for item in accepted:
            if breaks_id_rule(item.item_id) or "\\u0000" in item.properties_json:
                return [f"accepted item {item.item_id!r} whose id breaks R1 or that holds a NUL (R5)"]
        problems = [
            f"item {i} failed without errors" for i, r in enumerate(answer.results) if not r.success and not r.errors
        ]
        if len(answer.results) != len(request.items):
            return [f"{len(answer.results)} results for {len(request.items)} items"]
        if not accepted:
            return problems or None
        got = await stack.catalog.BatchGetRecords(
            catalog_pb2.BatchGetRecordsRequest(section="typed", collection="items", ids=[i.item_id for i in accepted]),
            metadata=stack.metadata(),
        )
        stored = {r.id: json.loads(r.data_json or "{}") for r in got.records}
        for item in accepted:
            if item.item_id not in stored:
                problems.append(f"{item.item_id!r} not stored")
                continue
            for k, v in json.loads(item.properties_json).items():
                if not (v is None and partial) and not same(v, stored[item.item_id].get(k)):
                    problems.append(
                        f"{item.item_id!r}.{k}: sent {show(v)}, read back {show(stored[item.item_id].get(k))}"
                    )
        return problems

    return verify


# --- the base request of each RPC ---------------------------------------------------------------------------


def _records(collection: str, n: int = 2) -> list[record_pb2.Record]:
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


def _bulk_items() -> list[catalog_pb2.CatalogItem]:
    return [
        catalog_pb2.CatalogItem(item_id=f"gb-{i}", properties_json=json.dumps({"title": "T", "price": i}))
        for i in range(2)
    ]


def _batch_items(seed: Seed) -> list[batch_pb2.BatchItem]:
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
            lambda: catalog_pb2.ReplaceRecordsRequest(collection="items", records=_records("items")),
            lambda r: _verify_records("REPLACE", r),
            True,
        ),
        "UpdateRecords": (
            C,
            catalog_pb2.UpdateRecordsResponse,
            lambda: catalog_pb2.UpdateRecordsRequest(collection="items", records=_records("items"), on_missing=3),
            lambda r: _verify_records("UPDATE", r),
            True,
        ),
        "DeleteRecords": (
            C,
            catalog_pb2.DeleteRecordsResponse,
            lambda: catalog_pb2.DeleteRecordsRequest(collection="items", records=_records("items", 1)),
            lambda r: _verify_records("DELETE", r),
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
                project_id="acme", catalog_id="typed", items=_bulk_items()
            ),
            lambda r: _verify_bulk(False, r),
            True,
        ),
        "BulkUpdateCatalogItems": (
            C,
            catalog_pb2.BulkUpdateCatalogItemsResponse,
            lambda: catalog_pb2.BulkUpdateCatalogItemsRequest(
                project_id="acme", catalog_id="typed", items=_bulk_items(), upsert=True
            ),
            lambda r: _verify_bulk(True, r),
            True,
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
            lambda: batch_pb2.AddBatchItemsRequest(**env, batch_id=seed.batch_id, items=_batch_items(seed)),
            None,
            True,
        ),
        "UpdateBatchItems": (
            B,
            batch_pb2.UpdateBatchItemsResponse,
            lambda: batch_pb2.UpdateBatchItemsRequest(**env, batch_id=seed.batch_id, items=_batch_items(seed)),
            None,
            True,
        ),
        "DeleteBatchItems": (
            B,
            batch_pb2.DeleteBatchItemsResponse,
            lambda: batch_pb2.DeleteBatchItemsRequest(**env, batch_id=seed.batch_id, items=_batch_items(seed)),
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


def request_words(method: str, descriptor: Any) -> tuple[str, ...]:
    """What an error about a request of this RPC may name: its fields (and their nouns) and the resource
    the RPC is about (`ingestion` of DeleteIngestion)."""
    import re

    words = [w.lower() for w in re.findall(r"[A-Z][a-z]+", method)[1:]]
    for field in descriptor.fields:
        camel = re.sub(r"_(\w)", lambda m: m.group(1).upper(), field.name)
        words += [field.name, field.name.removesuffix("_json").removesuffix("_id"), field.name.replace("_", " "), camel]
    return tuple(w for w in words if len(w) > 2)


def _short(message: Message) -> str:
    from google.protobuf import text_format

    return text_format.MessageToString(message, as_one_line=True)[:260]


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
        f"{method}({_short(request)})",
        names=(*names, *request_words(method, request.DESCRIPTOR)),
        verify=verify(request) if verify else None,
        writes=writes,
    )


# --- watching a task: a server stream -----------------------------------------------------------------------


@st.composite
def watch_case(draw: st.DrawFn, seed: Seed) -> GrpcCase:
    request, names = draw(mutated(task_pb2.WatchTaskRequest(id=seed.task_id)))

    async def call(stack: Any) -> Any:
        multi = stack.channel.unary_stream(
            f"/{T}/WatchTask",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=task_pb2.WatchTaskResponse.FromString,
        )
        return [m async for m in multi(request, metadata=stack.metadata(), timeout=10)]

    return GrpcCase(
        "TaskService/WatchTask",
        "hostile " + ",".join(names[2::4]),
        call,
        f"WatchTask({_short(request)})",
        names=(*names, *request_words("WatchTask", request.DESCRIPTOR)),
    )


# --- client streams ------------------------------------------------------------------------------------------

STREAM_SHAPES = [
    "well formed",
    "no header",
    "header twice",
    "empty message",
    "header only",
    "cancelled midway",
    "garbage message",
]


def _stream_parts(seed: Seed, method: str, draw: st.DrawFn) -> tuple[list[Message], list[str], Any]:
    if method == "StreamRecords":
        collection = draw(st.sampled_from(["items", "variations", "item_groups"]))
        header = catalog_pb2.StreamRecordsHeader(collection=collection, mode=catalog_pb2.WRITE_MODE_REPLACE)
        header, hnames = draw(mutated(header))
        records = _records(collection, draw(st.sampled_from([1, 2, LIMITS["max_records_per_call"] + 1])))
        batch, bnames = draw(mutated(record_pb2.RecordBatch(records=records)))
        parts = [catalog_pb2.StreamRecordsRequest(header=header), catalog_pb2.StreamRecordsRequest(batch=batch)]
        verify = None
        if header.mode == catalog_pb2.WRITE_MODE_REPLACE:
            verify = _verify_records(
                "REPLACE",
                catalog_pb2.ReplaceRecordsRequest(
                    section=header.section, collection=header.collection, records=batch.records
                ),
            )
        return parts, hnames + bnames, verify
    if method == "UploadCatalog":
        header, hnames = draw(
            mutated(
                catalog_pb2.UploadCatalogHeader(
                    section="csv", mode=catalog_pb2.UPLOAD_MODE_DELTA, files=[record_pb2.RECORD_KIND_ITEM]
                )
            )
        )
        data = draw(
            st.sampled_from(
                [
                    b"id,item_name\r\nu1,U1\r\n",
                    b"id\r\n",
                    b"",
                    b"id,item_name\r\nu\x00,x\r\n",
                    b"id,item_name\r\n\xff\xfe,x\r\n",
                    b'id,item_name\r\n"u1,x\r\n',
                    b"\xef\xbb\xbfid\r\nu2\r\n",
                ]
            )
        )
        chunk, cnames = draw(mutated(catalog_pb2.FileChunk(file=record_pb2.RECORD_KIND_ITEM, data=data)))
        return (
            [catalog_pb2.UploadCatalogRequest(header=header), catalog_pb2.UploadCatalogRequest(chunk=chunk)],
            hnames + cnames + ["items.csv", "row", "column", "file"],
            None,
        )
    header, hnames = draw(
        mutated(
            batch_pb2.StreamBatchItemsHeader(
                tenant="acme",
                environment=seed.environment,
                batch_id=seed.batch_id,
                operation=batch_pb2.BATCH_OPERATION_ADD,
            )
        )
    )
    chunk, cnames = draw(mutated(batch_pb2.BatchItemChunk(items=_batch_items(seed))))
    return (
        [batch_pb2.StreamBatchItemsRequest(header=header), batch_pb2.StreamBatchItemsRequest(chunk=chunk)],
        hnames + cnames,
        None,
    )


STREAM_TYPES = {
    "StreamRecords": (C, catalog_pb2.StreamRecordsRequest, catalog_pb2.StreamRecordsResponse),
    "UploadCatalog": (C, catalog_pb2.UploadCatalogRequest, catalog_pb2.UploadCatalogResponse),
    "StreamBatchItems": (B, batch_pb2.StreamBatchItemsRequest, batch_pb2.StreamBatchItemsResponse),
}


@st.composite
def stream_case(draw: st.DrawFn, seed: Seed, method: str) -> GrpcCase:
    service, _, response = STREAM_TYPES[method]
    parts, names, verify = _stream_parts(seed, method, draw)
    shape = draw(st.sampled_from(STREAM_SHAPES[:1] * 4 + STREAM_SHAPES[1:]))
    raw: list[bytes] = [p.SerializeToString() for p in parts]
    if shape == "no header":
        raw = raw[1:]
    elif shape == "header twice":
        raw = [raw[0], *raw]
    elif shape == "empty message":
        raw = [raw[0], b"", *raw[1:]]
    elif shape == "header only":
        raw = raw[:1]
    elif shape == "garbage message":
        raw = [raw[0], draw(st.sampled_from([b"\x0a\x05ab", b"\xff\xff\xff", b"\x12\x02\xff\xfe"])), *raw[1:]]
    if shape != "well formed":
        verify = None

    async def call(stack: Any) -> Any:
        multi = stack.channel.stream_unary(
            f"/{service}/{method}", request_serializer=None, response_deserializer=response.FromString
        )
        if shape != "cancelled midway":
            return await multi(iter(raw), metadata=stack.metadata(), timeout=30)
        import asyncio

        sent = asyncio.Event()

        async def messages() -> Any:
            for message in raw:
                yield message
            sent.set()
            await asyncio.Event().wait()  # never half-closes: the client cancels instead

        running = multi(messages(), metadata=stack.metadata(), timeout=30)
        await sent.wait()
        running.cancel()
        try:
            return await running
        except asyncio.CancelledError:
            metadata = grpc.aio.Metadata()
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.CANCELLED, metadata, metadata, "cancelled by the client"
            ) from None

    shown = f"{method}[{shape}]({', '.join(_short(p) for p in parts)})"
    return GrpcCase(
        f"{service.split('.')[-1]}/{method}",
        f"{shape} " + ",".join(sorted(set(names[2::4]))),
        call,
        shown,
        names=(
            *names,
            *REQUEST_WORDS,
            *request_words(method, parts[0].DESCRIPTOR),
            *request_words(method, parts[0].header.DESCRIPTOR),
            "cancel",
            "records",
            "item",
            "limit",
        ),
        verify=verify,
        writes=True,
    )


# --- undecodable bytes over a real channel --------------------------------------------------------------------

GARBAGE = [
    b"\x08",  # a varint tag with no value
    b"\x0a\x05ab",  # a string field shorter than its length
    b"\x0a\x02\xff\xfe",  # field 1 (a string in most requests) that is not UTF-8
    b"\x12\x02\xc3\x28",
    b"\x1a\x03\xed\xa0\x80",  # field 3: a UTF-8-encoded lone surrogate
    b"\x0f",  # wire type 7 does not exist
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",  # a varint longer than 10 bytes
    b"\x22\x80\x80\x80\x80\x10",  # a length beyond the message
    b"\x00",  # field number 0
    b"\x0b\x0c",  # a group
]


def all_methods() -> list[tuple[str, str, str]]:
    """(service, method, kind) for every RPC, from the descriptors."""
    out = []
    for module, name in ((catalog_pb2, "CatalogService"), (task_pb2, "TaskService"), (batch_pb2, "BatchService")):
        service = module.DESCRIPTOR.services_by_name[name]
        for method in service.methods:
            kind = (
                "stream_unary"
                if method.client_streaming
                else "unary_stream"
                if method.server_streaming
                else "unary_unary"
            )
            out.append((service.full_name, method.name, kind))
    return out


@st.composite
def raw_case(draw: st.DrawFn) -> GrpcCase:
    service, method, kind = draw(st.sampled_from(all_methods()))
    payload = draw(st.one_of(st.sampled_from(GARBAGE), st.binary(min_size=1, max_size=64)))

    async def call(stack: Any) -> Any:
        path = f"/{service}/{method}"
        if kind == "unary_unary":
            return await stack.channel.unary_unary(path, request_serializer=None, response_deserializer=None)(
                payload, metadata=stack.metadata(), timeout=10
            )
        if kind == "unary_stream":
            multi = stack.channel.unary_stream(path, request_serializer=None, response_deserializer=None)
            return [m async for m in multi(payload, metadata=stack.metadata(), timeout=10)]
        multi = stack.channel.stream_unary(path, request_serializer=None, response_deserializer=None)
        return await multi(iter([payload]), metadata=stack.metadata(), timeout=10)

    fields = [f.name for f in _request_descriptor(service, method).fields]
    return GrpcCase(
        f"{service.split('.')[-1]}/{method} (raw bytes)",
        "undecodable bytes" if payload in GARBAGE else "random bytes",
        call,
        f"{method} bytes {payload[:64]!r}",
        names=(*REQUEST_WORDS, *fields),
        writes=True,
    )


def _request_descriptor(service: str, method: str) -> Any:
    for module in (catalog_pb2, task_pb2, batch_pb2):
        for svc in module.DESCRIPTOR.services_by_name.values():
            if svc.full_name == service:
                return svc.methods_by_name[method].input_type
    raise KeyError(method)
