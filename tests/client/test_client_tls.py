"""The client over TLS: a server whose certificate the given root certificates sign is reached; without
them (system roots) the handshake fails, and the token travels as call metadata either way."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from catalog_ingest_client import NO_RETRY, AsyncClient
from catalogingest.v1 import task_pb2_grpc
from tests.gateway.fakes import FakeTasks, Recorder


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost (it is its own root)."""
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return key, cert


@pytest.fixture
async def tls_server(certificate: tuple[Path, Path]) -> AsyncIterator[tuple[str, Recorder]]:
    key, cert = certificate
    recorder = Recorder()
    server = grpc.aio.server()
    task_pb2_grpc.add_TaskServiceServicer_to_server(FakeTasks(recorder), server)
    credentials = grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())])
    port = server.add_secure_port("localhost:0", credentials)
    await server.start()
    try:
        yield f"localhost:{port}", recorder
    finally:
        await server.stop(None)


async def test_root_certificates_reach_a_tls_server(
    tls_server: tuple[str, Recorder], certificate: tuple[Path, Path]
) -> None:
    target, recorder = tls_server
    async with AsyncClient(target, "secret", root_certificates=certificate[1], timeout=10) as client:
        assert (await client.get_task(5)).id == 5
    assert recorder.metadata[-1]["authorization"] == "Bearer secret"


async def test_system_roots_refuse_a_self_signed_server(tls_server: tuple[str, Recorder]) -> None:
    target, _ = tls_server
    async with AsyncClient(target, "secret", tls=True, timeout=5, retry=NO_RETRY) as client:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await client.get_task(5)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
