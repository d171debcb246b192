"""TLS on both ports of a real `serve` process: curl --cacert and grpcurl -cacert get through, plaintext
clients and clients that do not trust the CA are refused; mutual TLS refuses a gRPC client without a
certificate; the gateway reaches its gRPC role over TLS (and presents a certificate under mutual TLS)."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import Iterator

import grpc
import pytest

from catalog_ingest_client import NO_RETRY, AsyncClient
from service.auth import create_token
from service.db.engine import create_engine, session_factory
from tests.conftest import free_port
from tests.helpers import eventually
from tests.processes import spawn
from tests.tls_certs import Pki, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    yield make_pki(tmp_path_factory.mktemp("pki"))


async def run(*command: str) -> tuple[int, str, str]:
    binary = command[0] if command[0] == sys.executable else shutil.which(command[0])
    assert binary, f"{command[0]} is needed (grpcurl comes with the test extras)"
    process = await asyncio.create_subprocess_exec(
        binary, *command[1:], stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def token_for(database_url: str, tenant: str) -> str:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            token = await create_token(session, tenant)
            await session.commit()
        return token
    finally:
        await engine.dispose()


async def serve_tls(processes: list, database_url: str, pki: Pki, **settings: object) -> tuple[int, int]:
    """All three roles in one process over TLS; returns (grpc port, http port) once HTTPS answers."""
    grpc_port, http_port = free_port(), free_port()
    process = spawn(
        processes,
        database_url,
        grpc_port=grpc_port,
        http_port=http_port,
        tls_cert_file=pki.server_cert,
        tls_key_file=pki.server_key,
        grpc_tls_ca_file=pki.ca,
        **settings,
    )

    async def status() -> tuple[int, str, str]:
        assert process.poll() is None, process.log_path.read_text()
        return await run("curl", "-s", "--cacert", str(pki.ca), f"https://localhost:{http_port}/status/ingestion")

    await eventually(status, lambda r: r[0] == 0 and '"OK"' in r[1], timeout=60)
    return grpc_port, http_port


async def test_both_ports_serve_tls_to_clients_that_trust_the_ca(pg_url: str, processes: list, pki: Pki) -> None:
    grpc_port, http_port = await serve_tls(processes, pg_url, pki)
    token = await token_for(pg_url, "acme")

    # HTTPS with the CA: the gateway answers, and reaches the gRPC role over TLS for an authenticated call.
    code, out, err = await run(
        "curl", "-s", "--cacert", str(pki.ca), "-u", f"{token}:", f"https://localhost:{http_port}/v1/tasks?key=acme"
    )
    assert code == 0, err
    assert json.loads(out)["tasks"] == []
    # Plain HTTP on the TLS port, and HTTPS against a CA that did not sign the certificate, fail.
    code, out, _ = await run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"http://localhost:{http_port}/")
    assert out == "000" and code != 0, (code, out)  # no HTTP answer at all: the handshake failed
    code, _, err = await run("curl", "-s", "-S", "--cacert", str(pki.other_ca), f"https://localhost:{http_port}/")
    assert code == 60, err  # curl: peer certificate cannot be authenticated with given CA certificates

    # grpcurl with the CA lists the services; plaintext and an untrusted CA fail.
    code, out, err = await run("grpcurl", "-cacert", str(pki.ca), f"localhost:{grpc_port}", "list")
    assert code == 0, err
    assert "catalogingest.v1.CatalogService" in out.split()
    code, _, err = await run("grpcurl", "-plaintext", "-max-time", "10", f"localhost:{grpc_port}", "list")
    assert code != 0, err
    code, _, err = await run(
        "grpcurl", "-cacert", str(pki.other_ca), "-max-time", "10", f"localhost:{grpc_port}", "list"
    )
    assert code != 0 and "certificate" in err, err

    # The command line client, over gRPC and over HTTPS, with the CA.
    for backend in (["--server", f"localhost:{grpc_port}"], ["--http", f"https://localhost:{http_port}"]):
        code, out, err = await run(
            sys.executable, "-m", "service.cli", "tasks", "list", *backend, "--cacert", str(pki.ca),
            "--token", token, "--json",
        )  # fmt: skip
        assert code == 0, (backend, err)
        assert json.loads(out)["tasks"] == []

    # The Python client with the CA as its root.
    async with AsyncClient(f"localhost:{grpc_port}", token, root_certificates=pki.ca, timeout=10) as client:
        assert (await client.list_tasks()).tasks == []
    async with AsyncClient(f"localhost:{grpc_port}", token, timeout=5, retry=NO_RETRY) as client:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await client.list_tasks()
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_mutual_tls_refuses_grpc_clients_without_a_certificate(pg_url: str, processes: list, pki: Pki) -> None:
    grpc_port, http_port = await serve_tls(processes, pg_url, pki, tls_client_ca_file=pki.ca)
    token = await token_for(pg_url, "acme")
    target = f"localhost:{grpc_port}"

    code, _, err = await run("grpcurl", "-cacert", str(pki.ca), "-max-time", "10", target, "list")
    assert code != 0, "a client without a certificate was let in"
    code, out, err = await run(
        "grpcurl", "-cacert", str(pki.ca), "-cert", str(pki.client_cert), "-key", str(pki.client_key), target, "list"
    )
    assert code == 0, err
    assert "catalogingest.v1.TaskService" in out.split()
    # A certificate signed by another CA is refused like none.
    code, _, _ = await run(
        "grpcurl", "-cacert", str(pki.ca), "-cert", str(pki.other_ca), "-key", str(pki.client_key), "-max-time", "10",
        target, "list",
    )  # fmt: skip
    assert code != 0
    # The gateway presents the server's certificate to its gRPC role: REST calls still work, and HTTPS itself
    # asks no client certificate.
    code, out, err = await run(
        "curl", "-s", "--cacert", str(pki.ca), "-u", f"{token}:", f"https://localhost:{http_port}/v1/tasks?key=acme"
    )
    assert code == 0, err
    assert json.loads(out)["tasks"] == [], out
