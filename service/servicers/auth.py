"""AuthService: the credentials of a call, checked alone (the interceptor authenticates; this names the tenant)."""

from __future__ import annotations

import grpc

from catalogingest.v1 import auth_pb2, auth_pb2_grpc
from service.interceptors import current_principal


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    async def CheckCredentials(
        self, request: auth_pb2.CheckCredentialsRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.CheckCredentialsResponse:
        return auth_pb2.CheckCredentialsResponse(tenant=current_principal().tenant_name)
