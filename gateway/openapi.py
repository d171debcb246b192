"""The OpenAPI 3.1 document of the gateway, generated from the same google.api.http bindings the gateway
routes (gateway/http_rules.py) plus the documented shapes (gateway/openapi_shapes.py) and the custom routes.

Served at GET /openapi.json, written to openapi.json by tools/generate_openapi.py (a test fails when the
checked-in copy drifts), rendered offline at GET /docs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from gateway import openapi_shapes as documented
from gateway.http_rules import HttpBinding, discover_services, load_bindings
from gateway.openapi_schemas import SchemaRegistry, query_schema
from gateway.shapes import shape_for, uses_camel_case

TITLE = "catalog-ingest REST gateway"
VERSION = "0.1.0"
_VARIABLE = re.compile(r"\{([^}=]+)(?:=[^}]*)?\}")
# Codes any call may answer (the standard table of gateway/errors.py); 409 only where a write can conflict.
COMMON_ERRORS = ("400", "401", "403", "404", "429", "503", "504")
WRITE_ERRORS = ("409",)
BODY_ERRORS = ("413",)
PUBLIC_METHODS = frozenset({"/catalogingest.v1.TaskService/GetIngestionStatus"})


def openapi_path(template_source: str) -> str:
    """`/v1/tasks/{id}:cancel` as it is; a variable with a pattern (`{name=shelves/*}`) becomes `{name}`."""
    return _VARIABLE.sub(lambda m: "{" + m.group(1) + "}", template_source)


def build_openapi(bindings: Iterable[HttpBinding] | None = None) -> dict[str, Any]:
    bindings = list(bindings if bindings is not None else load_bindings(discover_services()))
    registry = SchemaRegistry()
    registry.schemas.update(documented.COMPONENTS)
    paths: dict[str, dict[str, Any]] = {}
    seen_ids: dict[str, int] = {}
    for binding in bindings:
        operation = _operation(binding, registry)
        count = seen_ids.get(operation["operationId"], 0)
        seen_ids[operation["operationId"]] = count + 1
        if count:
            operation["operationId"] += f"_{count + 1}"
        paths.setdefault(openapi_path(binding.template.source), {})[binding.http_method.lower()] = operation
    for path, method, operation in documented.custom_operations(registry):
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": (
                "The documented catalog APIs over REST. Generated from the protos' google.api.http bindings;"
                " errors are `{message, code, reason?, field_violations?}` unless a path's document shows"
                " `{message}`."
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(registry.schemas.items())),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <token>"},
                "basic": {"type": "http", "scheme": "basic", "description": "the token as user name, no password"},
            },
            "headers": documented.HEADERS,
        },
        "security": [{"bearer": []}, {"basic": []}],
    }


def _operation(binding: HttpBinding, registry: SchemaRegistry) -> dict[str, Any]:
    method = binding.method
    full = binding.full_method
    camel = uses_camel_case(method.containing_service.full_name)
    override = documented.OVERRIDES.get(full, documented.Override())
    shape = shape_for(full)
    path_fields = {v.split(".")[0] for v in binding.template.variables}
    body_fields = override.body_fields
    if body_fields is None:
        if binding.body == "*":
            body_fields = {f.name for f in method.input_type.fields} - path_fields
        else:
            body_fields = {binding.body} if binding.body else set()
    parameters: list[dict[str, Any]] = []
    for variable in binding.template.variables:
        field = method.input_type.fields_by_name[variable.split(".")[0]]
        schema = override.path_schemas.get(variable) or query_schema(field)
        parameters.append({"name": variable, "in": "path", "required": True, "schema": schema})
    for field in method.input_type.fields:
        if field.name in path_fields or field.name in body_fields:
            continue
        if field.message_type is not None and field.message_type.full_name != "google.protobuf.Timestamp":
            continue
        name = documented.QUERY_NAMES.get(field.name, field.name) if camel else field.name
        parameter: dict[str, Any] = {"name": name, "in": "query", "schema": query_schema(field)}
        if field.is_repeated:
            parameter["explode"] = True
        parameters.append(parameter)
    operation: dict[str, Any] = {
        "operationId": f"{method.containing_service.name}.{method.name}",
        "summary": f"{method.containing_service.name}.{method.name}",
        "tags": [method.containing_service.name],
        "parameters": parameters,
    }
    if binding.body:
        schema = override.request
        if schema is None:
            if binding.body == "*":
                schema = registry.ref(method.input_type, camel_case=camel)
            else:
                schema = registry.field(method.input_type.fields_by_name[binding.body], camel_case=camel)
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    response_schema = override.response
    if response_schema is None:
        if binding.response_body:
            response_schema = registry.field(method.output_type.fields_by_name[binding.response_body], camel_case=camel)
        else:
            response_schema = registry.ref(method.output_type, camel_case=camel)
    ok: dict[str, Any] = {"description": "OK", "content": {"application/json": {"schema": response_schema}}}
    if override.response_headers:
        ok["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in override.response_headers}
    codes = [*COMMON_ERRORS]
    if binding.http_method != "GET":
        codes += WRITE_ERRORS
    if binding.body and shape.body_reader is None:
        codes += BODY_ERRORS
    if shape.request_headers is not None:  # If-Match (gateway/shapes/record_versions.py)
        parameters.append(documented.IF_MATCH)
        codes.append("412")
    error = documented.error_schema(shape)
    operation["responses"] = {"200": ok, **documented.error_responses(sorted(codes), error)}
    if full in PUBLIC_METHODS:
        operation["security"] = []
    return operation
