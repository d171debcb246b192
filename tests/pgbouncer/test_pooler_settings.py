"""Why CATALOG_INGEST_DATABASE_POOLER exists, and how it is checked: two clients whose transactions share one
server connection (a PgBouncer pool of 1) clash on asyncpg's cached statement names unless the engine knows
the pooler; the settings refuse a pooler they do not know, or one without PostgreSQL; and behind a pooler the
workers LISTEN only on a URL of its own."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from asyncpg import connection as asyncpg_connection
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service import settings_check
from service.db.engine import create_engine
from service.settings import Settings, SettingsError
from tests.pgbouncer_instance import pgbouncer_instance


async def _take_turns(url: str, pooler: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two engines, one connection each, running the same statement in turns, each turn its own transaction.
    asyncpg numbers the statements it names per process: each turn starts from the same number, as two processes
    (a gRPC role and a worker) do."""
    engines = [create_engine(url, pooler=pooler, pool_size=1, max_overflow=0) for _ in range(2)]
    try:
        for engine in engines:  # connected (the dialect's first statements run) before the turns
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        start = asyncpg_connection._uid
        for turn in range(4):
            monkeypatch.setattr(asyncpg_connection, "_uid", start)
            async with engines[turn % 2].connect() as conn:
                answer = await conn.execute(text("SELECT CAST(:n AS integer) + 1"), {"n": turn})
                assert answer.scalar_one() == turn + 1
                await conn.commit()
    finally:
        for engine in engines:
            await engine.dispose()


async def test_clients_sharing_a_server_connection_need_the_pooler_setting(
    direct_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = urlsplit(direct_url)
    with pgbouncer_instance(server.hostname or "127.0.0.1", server.port or 5432, pool_size=1) as one:
        pooled = one.url_of(direct_url)
        with pytest.raises(DBAPIError, match="prepared statement"):
            await _take_turns(pooled, "", monkeypatch)
        await _take_turns(pooled, "pgbouncer", monkeypatch)


def test_the_pooler_setting_is_checked() -> None:
    pg = "postgresql://app@pgbouncer:6432/catalog"
    with pytest.raises(SettingsError, match="CATALOG_INGEST_DATABASE_POOLER='odyssey' must be empty or one of"):
        settings_check.load({"CATALOG_INGEST_DATABASE_URL": pg, "CATALOG_INGEST_DATABASE_POOLER": "odyssey"})
    with pytest.raises(SettingsError, match="needs a PostgreSQL CATALOG_INGEST_DATABASE_URL"):
        settings_check.load({"CATALOG_INGEST_DATABASE_POOLER": "pgbouncer"})
    with pytest.raises(SettingsError, match="CATALOG_INGEST_LISTEN_DATABASE_URL must be a PostgreSQL URL"):
        settings_check.load({"CATALOG_INGEST_LISTEN_DATABASE_URL": "sqlite:///x.db"})
    assert settings_check.load({"CATALOG_INGEST_DATABASE_URL": pg, "CATALOG_INGEST_DATABASE_POOLER": "pgbouncer"})


def test_workers_listen_on_their_own_url_behind_a_pooler() -> None:
    pooled, direct = "postgresql://app@pgbouncer:6432/catalog", "postgresql://app@db:5432/catalog"
    assert Settings(database_url=direct).effective_listen_database_url == direct
    assert Settings(database_url=pooled, listen_database_url=direct).effective_listen_database_url == direct
    # A LISTEN through a transaction pooler would sit on a shared server connection: the workers poll instead.
    assert Settings(database_url=pooled, database_pooler="pgbouncer").effective_listen_database_url == ""
    assert (
        Settings(
            database_url=pooled, database_pooler="pgbouncer", listen_database_url=direct
        ).effective_listen_database_url
        == direct
    )
