"""One HTTP request through one binding: bind the request message, call the RPC, answer with JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from starlette.requests import Request
from starlette.responses import Response

from gateway.binding import bind_body, bind_path, bind_query, check_query
from gateway.body import parse_json, read_body
from gateway.credentials import PUBLIC_METHODS, require_credentials
from gateway.errors import GatewayError, from_rpc_error
from gateway.http_rules import HttpBinding
from gateway.metadata import grpc_metadata
from gateway.responses import error_response, json_response, render
from gateway.runtime import runtime_of
from gateway.shapes import Shape, shape_for, uses_camel_case


@dataclass(frozen=True)
class Endpoint:
    """A binding with everything a request needs that can be worked out once."""

    binding: HttpBinding
    request_class: Any
    shape: Shape
    camel_case: bool

    @classmethod
    def of(cls, binding: HttpBinding) -> Endpoint:
        return cls(
            binding=binding,
            request_class=GetMessageClass(binding.method.input_type),
            shape=shape_for(binding.full_method),
            camel_case=uses_camel_case(binding.method.containing_service.full_name),
        )


async def handle(request: Request, endpoint: Endpoint, variables: dict[str, str]) -> Response:
    runtime = runtime_of(request)
    message = endpoint.request_class()
    try:
        # Headers and credentials before the body: a 431 or a 401 never depends on what the body holds.
        metadata = grpc_metadata(request)
        if endpoint.binding.full_method not in PUBLIC_METHODS:
            await require_credentials(runtime, metadata)
        await build_request(request, endpoint, variables, message, runtime.settings.max_body_bytes)
        call = runtime.unary(endpoint.binding.method)
        reply = await call(message, metadata=metadata)
    except GatewayError as error:
        return _error(endpoint, message, error)
    except grpc.aio.AioRpcError as error:
        return _error(endpoint, message, from_rpc_error(error))
    shape = endpoint.shape
    headers = shape.headers(message, reply) if shape.headers is not None else None
    if shape.response is not None:
        return json_response(shape.response(message, reply), headers=headers)
    binding = endpoint.binding
    content = render(reply, response_body=binding.response_body, camel_case=endpoint.camel_case)
    return json_response(content, headers=headers)


async def build_request(
    request: Request, endpoint: Endpoint, variables: dict[str, str], message: Message, max_body_bytes: int
) -> None:
    """Path variables, then the body (when the rule has one), then the query for the fields left."""
    bound = bind_path(message, variables)
    params = request.query_params.multi_items()
    check_query(message.DESCRIPTOR, params, bound)  # a bad query is answered before the body is read
    body_field = endpoint.binding.body
    if body_field:
        reader = endpoint.shape.body_reader
        body = parse_json(await reader(request) if reader is not None else await read_body(request, max_body_bytes))
        if endpoint.shape.request is not None:
            bound |= endpoint.shape.request(message, body)
        else:
            if isinstance(body, dict) and body_field == "*":
                body = {k: v for k, v in body.items() if k not in bound}  # path variables win
            bound |= bind_body(message, body, body_field)
    bind_query(message, params, exclude=bound)
    if endpoint.shape.request_headers is not None:
        endpoint.shape.request_headers(message, request.headers)


def _error(endpoint: Endpoint, message: Message, error: GatewayError) -> Response:
    adapt = endpoint.shape.error
    return error_response(error, adapt(message, error.body()) if adapt is not None else None)
