"""Channels and the message classes of each RPC, from the generated descriptors."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message_factory import GetMessageClass

from catalogingest.v1 import batch_pb2, catalog_pb2, task_pb2

DEFAULT_TARGET = "localhost:50051"
_FILES = (catalog_pb2.DESCRIPTOR, task_pb2.DESCRIPTOR, batch_pb2.DESCRIPTOR)
# Larger than the server's own default receive limit is pointless; 64 MiB covers any list page.
_OPTIONS = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]


@functools.cache
def method_descriptor(service: str, method: str) -> MethodDescriptor:
    for file in _FILES:
        for candidate in file.services_by_name.values():
            if candidate.full_name == service:
                return candidate.methods_by_name[method]
    raise KeyError(f"{service}/{method}")


def response_class(service: str, method: str) -> Any:
    return GetMessageClass(method_descriptor(service, method).output_type)


def credentials(tls: bool, root_certificates: bytes | str | Path | None) -> grpc.ChannelCredentials | None:
    """None for plaintext; TLS with the system roots, or with the given PEM roots (bytes or a file)."""
    if root_certificates is None and not tls:
        return None
    if isinstance(root_certificates, str | Path):
        root_certificates = Path(root_certificates).read_bytes()
    return grpc.ssl_channel_credentials(root_certificates=root_certificates)


def sync_channel(target: str, creds: grpc.ChannelCredentials | None) -> grpc.Channel:
    if creds is None:
        return grpc.insecure_channel(target, options=_OPTIONS)
    return grpc.secure_channel(target, creds, options=_OPTIONS)


def aio_channel(target: str, creds: grpc.ChannelCredentials | None) -> grpc.aio.Channel:
    if creds is None:
        return grpc.aio.insecure_channel(target, options=_OPTIONS)
    return grpc.aio.secure_channel(target, creds, options=_OPTIONS)
