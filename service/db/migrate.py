"""Bring a database to the latest schema; every process calls this on start-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: serializes concurrent start-ups of many processes on one PostgreSQL.
_MIGRATION_LOCK = 7_240_113


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Migrate in one transaction that first takes a transaction-level advisory lock (PostgreSQL): concurrent
    start-ups wait for each other, and the lock goes with the commit, so a pooler in transaction mode, which
    may hand the next transaction another server connection, never strands it (a session lock would)."""
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        await conn.run_sync(_upgrade)
        await conn.commit()
