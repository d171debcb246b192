"""What the gateway holds while it runs: its settings and its one gRPC channel to the server."""

from __future__ import annotations

from typing import Any, Protocol

import grpc
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message_factory import GetMessageClass
from starlette.requests import HTTPConnection

from service.tls import gateway_channel_credentials

# The gateway never limits what the server sends back; the server is trusted and bounds its pages.
CHANNEL_OPTIONS = (("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1))


class GatewaySettings(Protocol):
    """What the gateway reads from the settings object (service.settings.Settings fits)."""

    @property
    def grpc_target(self) -> str: ...

    @property
    def max_body_bytes(self) -> int: ...

    @property
    def bulk_max_body_bytes(self) -> int: ...

    @property
    def max_inflight_bytes(self) -> int: ...

    @property
    def inflight_wait_seconds(self) -> float: ...

    @property
    def body_idle_timeout_seconds(self) -> float: ...

    @property
    def body_min_bytes_per_second(self) -> int: ...


def grpc_target(settings: GatewaySettings) -> str:
    """`effective_grpc_target` when the settings derive one (an empty grpc_target means the local port)."""
    target = getattr(settings, "effective_grpc_target", "") or settings.grpc_target
    if not target:
        raise ValueError("settings.grpc_target is empty: the gateway needs the gRPC server's address")
    return target


class GatewayRuntime:
    """The open channel and one multi-callable per RPC, made once and reused by every request."""

    def __init__(self, settings: GatewaySettings, channel: grpc.aio.Channel) -> None:
        self.settings = settings
        self.channel = channel
        self._unary: dict[str, grpc.aio.UnaryUnaryMultiCallable] = {}
        # sha256 of an Authorization header the server accepted -> until when, and its tenant (gateway.credentials).
        self.checked_credentials: dict[str, tuple[float, str]] = {}

    @classmethod
    def open(cls, settings: GatewaySettings) -> GatewayRuntime:
        credentials, tls_options = gateway_channel_credentials(settings)
        if credentials is None:
            return cls(settings, grpc.aio.insecure_channel(grpc_target(settings), options=CHANNEL_OPTIONS))
        options = (*CHANNEL_OPTIONS, *tls_options)
        return cls(settings, grpc.aio.secure_channel(grpc_target(settings), credentials, options=options))

    async def close(self) -> None:
        await self.channel.close()

    def unary(self, method: MethodDescriptor) -> grpc.aio.UnaryUnaryMultiCallable:
        path = f"/{method.containing_service.full_name}/{method.name}"
        call = self._unary.get(path)
        if call is None:
            response_class: Any = GetMessageClass(method.output_type)
            call = self.channel.unary_unary(
                path,
                request_serializer=lambda message: message.SerializeToString(),
                response_deserializer=response_class.FromString,
            )
            self._unary[path] = call
        return call


def runtime_of(connection: HTTPConnection) -> GatewayRuntime:
    """The running gateway of a request: for custom routes that call the server themselves."""
    runtime = getattr(connection.app.state, "gateway", None)
    if runtime is None:
        raise RuntimeError("the gateway is not running: enter the app's lifespan first")
    return runtime
