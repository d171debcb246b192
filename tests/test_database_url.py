"""CATALOG_INGEST_DATABASE_URL as libpq tools write it: parameters applied on the real PostgreSQL, host lists,
percent-encoded passwords; an unsupported parameter is a startup error naming it, not a traceback."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from urllib.parse import quote

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from service.db.engine import create_engine
from service.db.migrate import upgrade
from service.db.postgres_url import connect_args
from tests.conftest import free_port
from tests.helpers import eventually
from tests.processes import ROOT, spawn

OPTIONS = "options=" + quote("-c statement_timeout=5000")


def with_query(url: str, query: str) -> str:
    return f"{url}?{query}"


async def session_settings(url: str) -> tuple[str, str, bool]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT a.application_name, current_setting('statement_timeout'), s.ssl"
                        " FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.pid = pg_backend_pid()"
                    )
                )
            ).one()
            return row[0], row[1], row[2]
    finally:
        await engine.dispose()


async def test_libpq_parameters_are_applied(pg_url) -> None:
    url = with_query(pg_url, f"sslmode=disable&application_name=ci-values&{OPTIONS}&connect_timeout=5")
    assert await session_settings(url) == ("ci-values", "5s", False)
    # The postgres:// scheme, an unencoded space in options, a fallback name.
    url = with_query(
        pg_url.replace("postgresql://", "postgres://", 1),
        "options=-c statement_timeout=7000&fallback_application_name=fallback",
    )
    assert await session_settings(url) == ("fallback", "7s", False)


async def test_host_lists_and_percent_encoded_passwords(pg_url) -> None:
    admin = await asyncpg.connect(pg_url)
    try:
        await admin.execute("DROP ROLE IF EXISTS ci_url_user")
        await admin.execute("CREATE ROLE ci_url_user LOGIN PASSWORD 'p@ss/w:rd?#'")
        await admin.execute("GRANT ALL ON SCHEMA public TO ci_url_user")
    finally:
        await admin.close()
    database = pg_url.rsplit("/", 1)[1]
    hosts = "127.0.0.1:5432,127.0.0.1:5432"
    password = quote("p@ss/w:rd?#", safe="")
    for url in (
        f"postgresql://ci_url_user:{password}@{hosts}/{database}?sslmode=disable",
        f"postgresql:///{database}?host=127.0.0.1,localhost&port=5432&user=postgres&sslmode=prefer",
    ):
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                assert (await conn.execute(text("SELECT current_database()"))).scalar_one() == database
        finally:
            await engine.dispose()


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("sslmode=disable&keepalives=1", "keepalives"),
        ("sslmode=sometimes", "sslmode"),
        ("connect_timeout=soon", "connect_timeout"),
    ],
)
def test_an_unsupported_parameter_is_named(query, named) -> None:
    with pytest.raises(ValueError, match=named):
        connect_args(f"postgresql://u@h/db?{query}")


def test_the_url_goes_to_asyncpg_whole() -> None:
    args = connect_args(
        "postgres://u:p%40x@h1:5432,h2:5433/db?sslmode=verify-full&sslrootcert=/ca.pem&connect_timeout=3"
    )
    assert args == {
        "timeout": 3.0,
        "dsn": "postgresql://u:p%40x@h1:5432,h2:5433/db?sslmode=verify-full&sslrootcert=%2Fca.pem",
    }


async def test_serve_starts_with_a_libpq_url(pg_url, processes) -> None:
    engine = create_engine(pg_url)
    await upgrade(engine)
    http_port = free_port()
    url = with_query(pg_url, f"sslmode=disable&application_name=ci-serve&{OPTIONS}")
    server = spawn(processes, url, "gateway", "grpc", "worker", http_port=http_port, grpc_port=free_port())

    async def health() -> int:
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"http://127.0.0.1:{http_port}/status/ingestion")).status_code
        except httpx.HTTPError:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            return 0

    await eventually(health, lambda code: code == 200, timeout=30)

    async def named_sessions() -> int:
        async with engine.connect() as conn:
            result = await conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ci-serve'")
            )
            return result.scalar_one()

    assert await eventually(named_sessions, lambda n: n > 0, timeout=10) > 0
    await engine.dispose()
    server.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(server.wait, 30) == 0


def test_serve_with_an_unsupported_parameter_says_so_and_exits(pg_url) -> None:
    env = {"CATALOG_INGEST_DATABASE_URL": with_query(pg_url, "sslmode=disable&keepalives_idle=30"), "PATH": "/usr/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "keepalives_idle" in done.stderr and "Traceback" not in done.stderr
