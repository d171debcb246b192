"""Path templates compile once and match paths; the route table comes from the protos' annotations."""

from __future__ import annotations

import pytest
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool

from catalogingest.v1 import catalog_pb2, task_pb2
from gateway.http_rules import TemplateError, discover_services, load_bindings, parse_template
from gateway.routes import build_routes


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("/v1/tasks/{id}", "/v1/tasks/42", {"id": "42"}),
        ("/v1/tasks/{id}", "/v1/tasks/42/x", None),
        ("/v1/tasks/{id}", "/v1/tasks/", None),
        ("/v1/task/{id}", "/v1/task/7", {"id": "7"}),
        ("/v2/{collection}", "/v2/item_groups", {"collection": "item_groups"}),
        ("/v1/tasks/{id}:cancel", "/v1/tasks/42:cancel", {"id": "42"}),
        ("/v1/tasks/{id}:cancel", "/v1/tasks/42", None),
        ("/v1/tasks/{id}:cancel", "/v1/tasks/42:undo", None),
        ("/status/ingestion", "/status/ingestion", {}),
        ("/status/ingestion", "/status/ingestionx", None),
        ("/batch-imports", "/batch-imports", {}),
        ("/v1/{name=projects/*/items/*}", "/v1/projects/p/items/i", {"name": "projects/p/items/i"}),
        ("/v1/{name=projects/*/items/*}", "/v1/projects/p/things/i", None),
        ("/files/{path=**}", "/files/a/b/c.csv", {"path": "a/b/c.csv"}),
        ("/v1/*/x", "/v1/anything/x", {}),
        ("/v1/a.b", "/v1/aXb", None),
    ],
)
def test_template_matches_paths(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert parse_template(template).match(path) == expected


def test_template_records_its_parts() -> None:
    compiled = parse_template("/v1/tasks/{id}:cancel")
    assert compiled.variables == ("id",)
    assert compiled.verb == "cancel"
    assert compiled.literal_count == 2


@pytest.mark.parametrize(
    "template",
    [
        "v1/tasks",
        "/v1/{id",
        "/v1/{}",
        "/v1/{a}/{a}",
        "/v1/{a={b}}",
        "/v1/**/x",
        "/v1/tasks:",
        "/v1//x",
        "/v1/x}",
    ],
)
def test_malformed_templates_are_rejected(template: str) -> None:
    with pytest.raises(TemplateError):
        parse_template(template)


def _routes() -> dict[tuple[str, str], tuple[str, str, str]]:
    bindings = load_bindings(discover_services())
    return {(b.http_method, b.template.source): (b.full_method, b.body, b.response_body) for b in bindings}


def test_route_table_comes_from_the_annotations() -> None:
    task, catalog, batch = (
        "/catalogingest.v1.TaskService/",
        "/catalogingest.v1.CatalogService/",
        "/catalogingest.v1.BatchService/",
    )
    assert _routes() == {
        ("GET", "/v1/tasks/{id}"): (task + "GetTask", "", "task"),
        ("GET", "/v1/task/{id}"): (task + "GetTask", "", "task"),  # additional_bindings
        ("GET", "/v1/tasks"): (task + "ListTasks", "", ""),
        ("GET", "/v1/tasks/{id}/changes"): (task + "ListTaskChanges", "", ""),
        ("POST", "/v1/tasks/{id}:cancel"): (task + "CancelTask", "", "task"),
        ("POST", "/v1/tasks/{id}:retry"): (task + "RetryTask", "*", "task"),
        ("GET", "/v1/tasks/{id}/errors"): (task + "ListTaskErrors", "", ""),
        ("GET", "/status/ingestion"): (task + "GetIngestionStatus", "", ""),
        ("GET", "/v2/{collection}"): (catalog + "ListRecords", "", ""),
        ("GET", "/v2/{collection}/{id}"): (catalog + "GetRecord", "", ""),
        ("GET", "/v2/{collection}/{id}/history"): (catalog + "ListRecordHistory", "", ""),
        ("PUT", "/v2/{collection}"): (catalog + "ReplaceRecords", "*", ""),
        ("PATCH", "/v2/{collection}"): (catalog + "UpdateRecords", "*", ""),
        ("DELETE", "/v2/{collection}"): (catalog + "DeleteRecords", "*", ""),
        ("PUT", "/v2/{collection}/{id}"): (catalog + "ReplaceRecord", "record", ""),
        ("PATCH", "/v2/{collection}/{id}"): (catalog + "UpdateRecord", "record", ""),
        ("DELETE", "/v2/{collection}/{id}"): (catalog + "DeleteRecord", "", ""),
        ("POST", "/data/v2/projects/{project_id}/catalogs"): (
            catalog + "CreateCatalogDefinition",
            "catalog",
            "catalog",
        ),
        ("GET", "/data/v2/projects/{project_id}/catalogs"): (catalog + "ListCatalogDefinitions", "", ""),
        ("GET", "/data/v2/projects/{project_id}/catalogs/{catalog_id}"): (
            catalog + "GetCatalogDefinition",
            "",
            "catalog",
        ),
        ("PATCH", "/data/v2/projects/{project_id}/catalogs/{catalog_id}"): (
            catalog + "AddCatalogFields",
            "*",
            "catalog",
        ),
        ("PUT", "/data/v2/projects/{project_id}/catalogs/{catalog_id}/items"): (
            catalog + "BulkReplaceCatalogItems",
            "items",
            "",
        ),
        ("POST", "/data/v2/projects/{project_id}/catalogs/{catalog_id}/items/partial-update"): (
            catalog + "BulkUpdateCatalogItems",
            "items",
            "",
        ),
        ("POST", "/batch-imports"): (batch + "CreateBatch", "", ""),
        ("GET", "/batch-imports"): (batch + "ListBatches", "", "batches"),
        ("POST", "/batch-imports/items"): (batch + "AddBatchItems", "items", "results"),
        ("PATCH", "/batch-imports/items"): (batch + "UpdateBatchItems", "items", "results"),
        ("POST", "/batch-imports/items/delete"): (batch + "DeleteBatchItems", "items", "results"),
        ("POST", "/batch-imports/ingestions"): (batch + "CreateIngestion", "*", ""),
        ("GET", "/batch-imports/ingestions"): (batch + "ListIngestions", "", "ingestions"),
        ("GET", "/batch-imports/ingestions/{id}"): (batch + "GetIngestion", "", "ingestion"),
        ("GET", "/batch-imports/ingestions/{id}/errors"): (batch + "ListIngestionErrors", "", ""),
        ("DELETE", "/batch-imports/ingestions/{id}"): (batch + "DeleteIngestion", "", ""),
        ("POST", "/catalogs"): (batch + "CreateCatalogVersion", "", "version"),
        ("GET", "/catalogs"): (batch + "ListCatalogVersions", "", "versions"),
        ("GET", "/catalogs/active"): (batch + "GetActiveCatalogVersion", "", "version"),
        ("POST", "/catalogs/activate/{version}"): (batch + "ActivateCatalogVersion", "", "version"),
        ("DELETE", "/catalogs/{version}"): (batch + "DeleteCatalogVersion", "", ""),
    }


def test_methods_without_annotation_or_streaming_get_no_route() -> None:
    methods = {full for full, _, _ in _routes().values()}
    assert "/catalogingest.v1.CatalogService/BatchGetRecords" not in methods
    assert "/catalogingest.v1.TaskService/WatchTask" not in methods
    assert "/catalogingest.v1.BatchService/StreamBatchItems" not in methods


def test_one_route_per_template_with_verbs_and_literals_first() -> None:
    routes = build_routes(load_bindings([task_pb2.DESCRIPTOR.services_by_name["TaskService"]]))
    order = [r.template.source for r in routes]
    assert order.index("/v1/tasks/{id}:cancel") < order.index("/v1/tasks/{id}")
    catalog = build_routes(load_bindings([catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"]]))
    projects = "/data/v2/projects/{project_id}/catalogs"
    assert [(r.template.source, sorted(r.endpoints)) for r in catalog] == [
        (projects + "/{catalog_id}/items/partial-update", ["POST"]),
        (projects + "/{catalog_id}/items", ["PUT"]),
        (projects, ["GET", "POST"]),
        (projects + "/{catalog_id}", ["GET", "PATCH"]),
        ("/v2/{collection}/{id}/history", ["GET"]),
        ("/v2/{collection}", ["DELETE", "GET", "PATCH", "PUT"]),
        ("/v2/{collection}/{id}", ["DELETE", "GET", "PATCH", "PUT"]),
    ]


def _service_with_rule(rule: http_pb2.HttpRule) -> descriptor_pool.DescriptorPool:
    """A throwaway service `t.S` whose method M(Req{id}) -> Req carries `rule`."""
    pool = descriptor_pool.DescriptorPool()
    for module in (descriptor_pb2, http_pb2, annotations_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        pool.Add(proto)
    proto = descriptor_pb2.FileDescriptorProto(name="t.proto", package="t", dependency=["google/api/annotations.proto"])
    message = proto.message_type.add(name="Req")
    message.field.add(name="id", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT64, label=1)
    method = proto.service.add(name="S").method.add(name="M", input_type=".t.Req", output_type=".t.Req")
    method.options.Extensions[annotations_pb2.http].CopyFrom(rule)
    pool.Add(proto)
    return pool


@pytest.mark.parametrize(
    "rule",
    [
        http_pb2.HttpRule(get="/x/{missing}"),
        http_pb2.HttpRule(post="/x", body="missing"),
        http_pb2.HttpRule(get="/x", response_body="missing"),
        http_pb2.HttpRule(get="/x/{id"),
        http_pb2.HttpRule(body="*"),
    ],
)
def test_bad_annotations_fail_at_startup(rule: http_pb2.HttpRule) -> None:
    service = _service_with_rule(rule).FindServiceByName("t.S")
    with pytest.raises(TemplateError):
        load_bindings([service])


def test_custom_pattern_and_good_annotations_load() -> None:
    rule = http_pb2.HttpRule(custom=http_pb2.CustomHttpPattern(kind="search", path="/x/{id}"))
    rule.additional_bindings.add(post="/y/{id}", body="*")
    service = _service_with_rule(rule).FindServiceByName("t.S")
    bindings = load_bindings([service])
    assert [(b.http_method, b.template.source, b.body) for b in bindings] == [
        ("SEARCH", "/x/{id}", ""),
        ("POST", "/y/{id}", "*"),
    ]
    assert bindings[0].full_method == "/t.S/M"


def test_a_path_bound_twice_fails_at_startup() -> None:
    task_service = task_pb2.DESCRIPTOR.services_by_name["TaskService"]
    with pytest.raises(TemplateError, match="bound by"):
        load_bindings([task_service, task_service])
