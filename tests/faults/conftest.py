"""Fixtures of the fault suite: a PostgreSQL instance of its own, and a fresh database in it per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from tests.conftest import free_port
from tests.faults.own_postgres import OwnPostgres, own_postgres


@pytest.fixture(scope="session")
def postgres_instance() -> Iterator[OwnPostgres]:
    with own_postgres(free_port()) as instance:
        yield instance


@pytest.fixture
async def own_pg_url(postgres_instance: OwnPostgres) -> AsyncIterator[str]:
    """A new database on the test's own PostgreSQL (started again if an earlier test left it stopped)."""
    if not postgres_instance.is_ready():
        postgres_instance.start()
    name = f"fault_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_instance.url())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield postgres_instance.url(name)
