"""Fixtures of the fault suite: a PostgreSQL instance of its own, and a fresh database in it per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from tests.pg_instance import PgInstance, pg_instance


@pytest.fixture(scope="session")
def postgres_instance() -> Iterator[PgInstance]:
    with pg_instance() as instance:
        yield instance


@pytest.fixture
async def own_pg_url(postgres_instance: PgInstance) -> AsyncIterator[str]:
    """A new database on the test's own PostgreSQL (started again if an earlier test left it stopped)."""
    if not postgres_instance.running():
        postgres_instance.start()
    name = f"fault_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_instance.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield postgres_instance.database_url(name)
