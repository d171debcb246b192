"""Credentials first: a request's token is checked before its body is read or its content type looked at,
so an unauthenticated caller gets 401 whatever it sent (and costs the gateway no body)."""

from __future__ import annotations

import hashlib
import time

import grpc

from catalogingest.v1 import auth_pb2, auth_pb2_grpc
from gateway.errors import GatewayError, from_rpc_error
from gateway.runtime import GatewayRuntime
from service import log_context
from service.error_reasons import ErrorReason

# Callable without a token (mirrors service.interceptors.PUBLIC_METHODS): the documented health check.
PUBLIC_METHODS = frozenset({"/catalogingest.v1.TaskService/GetIngestionStatus"})
# How long a token the server accepted is taken as valid without asking again. Only this early check
# relies on it: every call still authenticates on the server, so a revoked token is never let through.
CHECKED_TTL_SECONDS = 10.0
UNAUTHENTICATED = "A valid token is required: send 'authorization: Bearer <token>' or Basic '<token>:'."


async def require_credentials(runtime: GatewayRuntime, metadata: tuple[tuple[str, str], ...]) -> None:
    """Returns when the metadata's Authorization names a tenant; a 401 (or the server's error) otherwise."""
    authorization = next((value for key, value in metadata if key == "authorization"), "")
    if not authorization:
        raise GatewayError(
            401, grpc.StatusCode.UNAUTHENTICATED.name, UNAUTHENTICATED, reason=ErrorReason.UNAUTHENTICATED
        )
    digest = hashlib.sha256(authorization.encode()).hexdigest()
    checked = runtime.checked_credentials
    until, tenant = checked.get(digest, (0.0, ""))
    if until > time.monotonic():
        log_context.bind(tenant=tenant)  # the request's log lines name its tenant
        return
    stub = auth_pb2_grpc.AuthServiceStub(runtime.channel)
    try:
        response = await stub.CheckCredentials(auth_pb2.CheckCredentialsRequest(), metadata=metadata)
    except grpc.aio.AioRpcError as error:
        raise from_rpc_error(error) from None
    if len(checked) > 10_000:
        checked.clear()
    checked[digest] = (time.monotonic() + CHECKED_TTL_SECONDS, response.tenant)
    log_context.bind(tenant=response.tenant)
