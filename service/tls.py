"""TLS for both ports: the gRPC server's credentials, uvicorn's options, and the gateway's channel to gRPC.

With `tls_cert_file` and `tls_key_file` set, the gRPC port and the HTTP port serve TLS only (a plaintext
client fails its handshake). `tls_client_ca_file` adds mutual TLS on the gRPC port: a client must present
a certificate that CA signed. The HTTP port never asks for one: browsers and curl authenticate with tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc

from service.settings import Settings


def _read(path: str, setting: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        # A startup error naming the setting, not a traceback from inside grpc.
        raise ValueError(f"CATALOG_INGEST_{setting.upper()}={path!r} cannot be read: {exc.strerror}") from exc


_FILES = (
    "tls_cert_file",
    "tls_key_file",
    "tls_client_ca_file",
    "grpc_tls_ca_file",
    "grpc_tls_client_cert_file",
    "grpc_tls_client_key_file",
)


def check(settings: Settings) -> None:
    """Certificate and key come together; a client CA needs them (it is only asked for over TLS); every file
    named can be read. Raises ValueError naming the setting (a usage error at start, not a traceback)."""
    if bool(settings.tls_cert_file) != bool(settings.tls_key_file):
        raise ValueError("CATALOG_INGEST_TLS_CERT_FILE and CATALOG_INGEST_TLS_KEY_FILE must be set together")
    if settings.tls_client_ca_file and not settings.tls_cert_file:
        raise ValueError("CATALOG_INGEST_TLS_CLIENT_CA_FILE needs CATALOG_INGEST_TLS_CERT_FILE and _TLS_KEY_FILE")
    for setting in _FILES:
        if path := getattr(settings, setting):
            _read(path, setting)


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """None when the gRPC port is plaintext."""
    check(settings)
    if not settings.tls_cert_file:
        return None
    pair = (_read(settings.tls_key_file, "tls_key_file"), _read(settings.tls_cert_file, "tls_cert_file"))
    if settings.tls_client_ca_file:
        return grpc.ssl_server_credentials(
            [pair], root_certificates=_read(settings.tls_client_ca_file, "tls_client_ca_file"), require_client_auth=True
        )
    return grpc.ssl_server_credentials([pair])


def bind(server: grpc.aio.Server, address: str, settings: Settings) -> int:
    credentials = server_credentials(settings)
    if credentials is None:
        return server.add_insecure_port(address)
    return server.add_secure_port(address, credentials)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.Config's TLS arguments: none when the HTTP port is plaintext."""
    check(settings)
    if not settings.tls_cert_file:
        return {}
    return {"ssl_certfile": settings.tls_cert_file, "ssl_keyfile": settings.tls_key_file}


def gateway_channel_credentials(settings: Any) -> tuple[grpc.ChannelCredentials | None, list[tuple[str, Any]]]:
    """The gateway's channel credentials and extra channel options; (None, []) for plaintext.

    TLS when given a CA for the gRPC role (`grpc_tls_ca_file`), or when this process serves TLS and the
    gateway reaches its own gRPC port (no `grpc_target`): then the system roots verify it. When this process
    also requires client certificates, the gateway presents its own certificate unless given another.
    `settings` is any object with the gateway's settings (missing TLS fields mean plaintext).
    """
    ca_file: str = getattr(settings, "grpc_tls_ca_file", "")
    own_cert: str = getattr(settings, "tls_cert_file", "")
    local = not getattr(settings, "grpc_target", "")
    if not ca_file and not (own_cert and local):
        return None, []
    roots = _read(ca_file, "grpc_tls_ca_file") if ca_file else None
    cert_file = getattr(settings, "grpc_tls_client_cert_file", "") or (own_cert if local else "")
    key_file = getattr(settings, "grpc_tls_client_key_file", "") or (
        getattr(settings, "tls_key_file", "") if local else ""
    )
    chain = _read(cert_file, "grpc_tls_client_cert_file") if cert_file and key_file else None
    key = _read(key_file, "grpc_tls_client_key_file") if chain is not None else None
    options: list[tuple[str, Any]] = []
    if name := getattr(settings, "grpc_tls_server_name", ""):
        options.append(("grpc.ssl_target_name_override", name))
    return grpc.ssl_channel_credentials(root_certificates=roots, private_key=key, certificate_chain=chain), options
